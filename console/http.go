package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httpauth"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
)

// route is one API endpoint and the roles that may call it. Public routes
// need no principal; the others need one whose role is listed.
type route struct {
	method, path string
	roles        []string
	public       bool
	// unsafe routes change something: cookie-authenticated calls need the
	// CSRF header and every call is audited by its handler.
	handler gin.HandlerFunc
	summary string
}

// Role sets of the route table.
var (
	readers     = []string{procure.RoleProcurement, procure.RolePlant, procure.RoleOncall, procure.RoleAdmin}
	actors      = []string{procure.RoleProcurement, procure.RolePlant, procure.RoleOncall, procure.RoleAdmin}
	allUsers    = []string{procure.RoleProcurement, procure.RolePlant, procure.RoleExecutive, procure.RoleOncall, procure.RoleAdmin}
	routers     = []string{procure.RoleProcurement, procure.RoleAdmin}
	routeRead   = []string{procure.RoleProcurement, procure.RoleOncall, procure.RoleAdmin}
	retriers    = []string{procure.RoleProcurement, procure.RoleOncall, procure.RoleAdmin}
	technical   = []string{procure.RoleOncall, procure.RoleAdmin}
	planners    = []string{procure.RoleProcurement, procure.RolePlant, procure.RoleAdmin}
	admins      = []string{procure.RoleAdmin}
	supplierAPI = []string{procure.RoleSupplier}
)

func (c *Console) routeTable() []route {
	return []route{
		{method: "GET", path: "/api/openapi.json", public: true, handler: c.openAPI, summary: "This API's OpenAPI 3 document"},
		{method: "POST", path: "/api/auth/login", public: true, handler: c.auth.login, summary: "Sign in with login and password"},
		{method: "POST", path: "/api/auth/logout", roles: allUsers, handler: c.auth.logout, summary: "Sign out"},
		{method: "GET", path: "/api/auth/oidc/login", public: true, handler: c.auth.oidcLogin, summary: "Start OIDC sign-in (redirect to the provider)"},
		{method: "GET", path: "/api/auth/oidc/callback", public: true, handler: c.auth.oidcCallback, summary: "OIDC redirect target"},
		{method: "GET", path: "/api/auth/config", public: true, handler: c.auth.authConfig, summary: "Sign-in options"},
		{method: "GET", path: "/api/me", roles: allUsers, handler: c.auth.me, summary: "The signed-in user, scope and CSRF token"},

		{method: "GET", path: "/api/exceptions", roles: readers, handler: c.queue.listExceptions, summary: "Exception queue"},
		{method: "POST", path: "/api/exceptions/bulk", roles: actors, handler: c.queue.bulkAct, summary: "Act on several exceptions"},
		{method: "GET", path: "/api/exceptions/:id", roles: readers, handler: c.queue.getException, summary: "Exception detail"},
		{method: "GET", path: "/api/exceptions/:id/timeline", roles: readers, handler: c.queue.exceptionTimeline, summary: "Correlated timeline of an exception"},
		{method: "POST", path: "/api/exceptions/:id/actions", roles: actors, handler: c.queue.act, summary: "Act on an exception (If-Match: version)"},
		{method: "POST", path: "/api/exceptions/:id/comments", roles: actors, handler: c.queue.comment, summary: "Comment on an exception"},
		{method: "GET", path: "/api/timeline", roles: readers, handler: c.queue.timeline, summary: "Timeline by correlation id or document id"},

		{method: "GET", path: "/api/groups", roles: readers, handler: c.queue.listGroups, summary: "Systemic incidents"},
		{method: "POST", path: "/api/groups/actions", roles: actors, handler: c.queue.groupAct, summary: "Act on every active exception of a group"},

		{method: "GET", path: "/api/views", roles: readers, handler: c.queue.listViews, summary: "My saved views"},
		{method: "POST", path: "/api/views", roles: readers, handler: c.queue.saveView, summary: "Save a view"},
		{method: "DELETE", path: "/api/views/:id", roles: readers, handler: c.queue.deleteView, summary: "Delete a saved view"},

		{method: "GET", path: "/api/teams", roles: routeRead, handler: c.routing.listTeams, summary: "Teams"},
		{method: "POST", path: "/api/teams", roles: routers, handler: c.routing.saveTeam, summary: "Create or update a team"},
		{method: "GET", path: "/api/routing/rules", roles: routeRead, handler: c.routing.listRoutingRules, summary: "Routing rules"},
		{method: "POST", path: "/api/routing/rules", roles: routers, handler: c.routing.createRoutingRule, summary: "Add a routing rule"},
		{method: "DELETE", path: "/api/routing/rules/:id", roles: routers, handler: c.routing.deleteRoutingRule, summary: "Delete a routing rule"},

		{method: "GET", path: "/api/retries", roles: retriers, handler: c.retry.listRetries, summary: "Failed deliveries and retries"},
		{method: "POST", path: "/api/retries/preview", roles: retriers, handler: c.retry.previewRetries, summary: "What a retry would re-send"},
		{method: "POST", path: "/api/retries", roles: retriers, handler: c.retry.retry, summary: "Re-send failed deliveries"},
		{method: "GET", path: "/api/retry-policies", roles: retriers, handler: c.retry.retryPolicies, summary: "Automatic retry policies in force"},
		{method: "GET", path: "/api/deadletter", roles: technical, handler: c.retry.listDeadLetter, summary: "Rejected inputs"},
		{method: "POST", path: "/api/deadletter/redrive", roles: technical, handler: c.retry.redrive, summary: "Re-publish rejected inputs"},

		{method: "GET", path: "/api/plants/:plant/inbound", roles: planners, handler: c.board.plantBoard, summary: "Plant inbound board"},
		{method: "GET", path: "/api/suppliers/:supplier", roles: planners, handler: c.board.supplierView, summary: "Supplier view"},
		{method: "GET", path: "/api/kpis", roles: allUsers, handler: c.queue.kpis, summary: "Exception KPIs"},
		{method: "GET", path: "/api/dashboard", roles: TenantWide, handler: c.dashboard.dashboardConfig, summary: "KPI targets and exchange rates of the executive dashboard"},
		{method: "GET", path: "/api/value-at-risk", roles: allUsers, handler: c.dashboard.valueAtRisk, summary: "Value at risk of active exceptions per currency, and converted"},
		{method: "GET", path: "/api/plants", roles: allUsers, handler: c.dashboard.listPlants, summary: "Plants the caller may open, with time zones"},
		{method: "GET", path: "/api/operations", roles: technical, handler: c.dashboard.operations, summary: "Pipeline operations: throughput, rejects, latency, lag, SLA breaches, deliveries"},
		{method: "GET", path: "/api/live", roles: readers, handler: c.live.liveUpdates, summary: "Live exception changes (server-sent events)"},

		{method: "GET", path: "/api/rules", roles: allUsers, handler: c.rules.listRules, summary: "Rules and SLAs in force, with the supplier segment each covers, and the segments"},
		{method: "POST", path: "/api/rules/reload", roles: admins, handler: c.rules.reloadRules, summary: "Reload the rule files"},
		{method: "GET", path: "/api/users", roles: admins, handler: c.admin.listUsers, summary: "Users"},
		{method: "POST", path: "/api/users", roles: admins, handler: c.admin.createUser, summary: "Add a user"},
		{method: "PATCH", path: "/api/users/:id", roles: admins, handler: c.admin.updateUser, summary: "Change a user's role or plants, disable or enable"},
		{method: "GET", path: "/api/tokens", roles: admins, handler: c.admin.listTokens, summary: "API tokens"},
		{method: "POST", path: "/api/tokens", roles: admins, handler: c.admin.createToken, summary: "Create an API token (user or supplier)"},
		{method: "DELETE", path: "/api/tokens/:id", roles: admins, handler: c.admin.revokeToken, summary: "Revoke an API token"},
		{method: "GET", path: "/api/audit", roles: admins, handler: c.admin.listAudit, summary: "Audit log"},

		{method: "GET", path: "/api/supplier/v1/orders", roles: supplierAPI, handler: c.board.supplierOrders, summary: "My purchase orders"},
		{method: "GET", path: "/api/supplier/v1/orders/:id", roles: supplierAPI, handler: c.board.supplierOrder, summary: "One of my purchase orders"},
		{method: "GET", path: "/api/supplier/v1/invoices", roles: supplierAPI, handler: c.board.supplierInvoices, summary: "My invoices"},
		{method: "GET", path: "/api/supplier/v1/invoices/:id", roles: supplierAPI, handler: c.board.supplierInvoice, summary: "One of my invoices"},
	}
}

// Routes lists method and path of every API route, for tests and docs.
func (c *Console) Routes() [][2]string {
	out := make([][2]string, len(c.routes))
	for i, r := range c.routes {
		out[i] = [2]string{r.method, r.path}
	}
	return out
}

// RouteRoles returns the roles allowed on a route (nil: public).
func (c *Console) RouteRoles(method, path string) (roles []string, public bool, ok bool) {
	for _, r := range c.routes {
		if r.method == method && r.path == path {
			return r.roles, r.public, true
		}
	}
	return nil, false, false
}

func principalOf(c *gin.Context) *Principal {
	p, _ := httpauth.Principal[*Principal](c)
	return p
}

// guard authenticates (httpauth.Require with the console's scheme: a
// bearer token or the session cookie), checks the role and, for
// cookie-authenticated unsafe calls, the CSRF token.
func (c *Console) guard(rt route) gin.HandlerFunc {
	require := httpauth.Require(httpauth.Scheme{
		Check: func(g *gin.Context) (any, error) { return c.auth.authenticate(g) },
		Fail:  func(g *gin.Context, err error) { c.fail(g, err) },
	})
	return func(g *gin.Context) {
		if rt.public {
			return
		}
		if require(g); g.IsAborted() {
			return
		}
		p := principalOf(g)
		if !slices.Contains(rt.roles, p.Role) {
			what := "role " + p.Role
			if p.Role == procure.RoleSupplier {
				what = "a supplier token"
			}
			c.fail(g, procure.Errorf(procure.EFORBIDDEN, "%s may not %s %s", what, rt.method, rt.path))
			g.Abort()
			return
		}
		if p.Via == viaSession && unsafeMethod(g.Request.Method) {
			if h := g.GetHeader(csrfHeader); h == "" || !constantEqual(h, p.CSRF) {
				c.fail(g, procure.Errorf(procure.EFORBIDDEN, "missing or wrong %s header (CSRF protection): reload the page", csrfHeader))
				g.Abort()
				return
			}
		}
	}
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

func (c *Console) noStore(g *gin.Context) {
	g.Header("Cache-Control", "no-store")
	g.Header("X-Content-Type-Options", "nosniff")
}

// respondList answers a listing: {key: items} (an empty array, never
// null), or err.
func respondList[T any](k *kit, g *gin.Context, key string, items []T, err error) {
	if err != nil {
		k.fail(g, err)
		return
	}
	if items == nil {
		items = []T{}
	}
	k.respond(g, http.StatusOK, gin.H{key: items})
}

// fail writes err as JSON with the status of its code; internal errors are
// logged and their detail is not shown.
func (k *kit) fail(g *gin.Context, err error, current ...any) {
	b := errorOf(err)
	if len(current) > 0 && current[0] != nil {
		b.Current = current[0]
	}
	status := httperr.Status(b.Error.Code)
	if status == http.StatusInternalServerError {
		k.log.Error("console request failed", "method", g.Request.Method, "path", g.FullPath(), "err", err)
	}
	if status == http.StatusUnauthorized {
		g.Header("WWW-Authenticate", `Bearer realm="supplywatch"`)
	}
	k.respond(g, status, b)
}

// errorOf is the answer to err in the one error shape of the APIs
// (internal/httperr): its code, message and, for bad input, field.
func errorOf(err error) *httperr.Body {
	b := &httperr.Body{Error: httperr.Detail{Code: procure.ErrorCode(err), Message: procure.ErrorMessage(err)}}
	var fe *procure.FieldError
	if errors.As(err, &fe) {
		b.Error.Field, b.Error.Message = fe.Field, fe.Reason
	}
	return b
}

func invalid(field, format string, args ...any) error {
	e := procure.Errorf(procure.EINVALID, format, args...)
	return &procure.FieldError{Field: field, Reason: e.Message}
}

// bind decodes a JSON body strictly into v.
func bind(g *gin.Context, v any) error {
	dec := json.NewDecoder(io.LimitReader(g.Request.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return invalid(ute.Field, "must be a %s", ute.Type.String())
		}
		if s := err.Error(); strings.HasPrefix(s, "json: unknown field ") {
			return invalid(strings.Trim(strings.TrimPrefix(s, "json: unknown field "), `"`), "is not a known field")
		}
		return invalid("", "the body is not valid JSON: %v", err)
	}
	return nil
}

func pathID(g *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(g.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, invalid(name, "%q is not an id", g.Param(name))
	}
	return id, nil
}

// audit records a change by the principal of the request. A failure to
// audit is logged: the change happened and must not be reported failed.
func (k *kit) audit(g *gin.Context, action, target string, detail any) {
	p := principalOf(g)
	e := &procure.AuditEntry{Action: action, Target: target, RemoteAddr: g.ClientIP(), UserAgent: g.Request.UserAgent()}
	if p != nil {
		e.Tenant, e.Actor, e.ActorKind = p.Tenant, p.Name(), p.Kind()
	}
	k.auditAs(g.Request.Context(), e, detail)
}

// auditAs records e (its time set now) with detail, also for changes that
// come from elsewhere than an HTTP request (Slack).
func (k *kit) auditAs(ctx context.Context, e *procure.AuditEntry, detail any) {
	e.At = k.now()
	action, target := e.Action, e.Target
	if detail != nil {
		b, err := json.Marshal(detail)
		if err == nil {
			e.Detail = b
		}
	}
	if err := k.audits.Audit(ctx, e); err != nil {
		k.log.Error("audit failed", "action", action, "target", target, "err", err)
	}
}

func errNotFound(p string) error { return procure.Errorf(procure.ENOTFOUND, "no route %s", p) }
