package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/supplywatch/supplywatch/internal/httpauth"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
	"golang.org/x/crypto/argon2"
)

const (
	sessionCookie = "sw_session"
	csrfCookie    = "sw_csrf"
	csrfHeader    = "X-CSRF-Token"
	tokenPrefix   = "swt_"
	viaSession    = "session"
	viaToken      = "token"
)

// Principal is who calls: a user (by session or by one of the user's
// tokens) or a supplier (by a supplier token).
type Principal struct {
	Via      string
	User     *procure.User
	Token    *procure.Token
	Tenant   string
	Role     string
	Plants   []string // nil: all plants
	Supplier string
	CSRF     string
}

// Name is the principal's name in activity and audit entries.
func (p *Principal) Name() string {
	if p.User != nil {
		return p.User.Login
	}
	if p.Token != nil {
		return "supplier-token:" + p.Token.Name
	}
	return ""
}

// Kind is "user" or "supplier".
func (p *Principal) Kind() string {
	if p.User != nil {
		return "user"
	}
	return "supplier"
}

// Scope is what the principal may see.
func (p *Principal) Scope() procure.Scope {
	return procure.Scope{Tenant: p.Tenant, Plants: p.Plants, Supplier: p.Supplier}
}

// Actor is the principal as the author of an exception change.
func (p *Principal) Actor() procure.Actor {
	return procure.Actor{Kind: procure.ActorUser, Name: p.Name()}
}

func principalOfUser(u *procure.User, via string) *Principal {
	p := &Principal{Via: via, User: u, Tenant: u.Tenant, Role: u.Role}
	if u.Role == procure.RolePlant {
		p.Plants = u.Plants
		if p.Plants == nil {
			p.Plants = []string{}
		}
	}
	return p
}

// authenticate finds the principal of a request: a bearer token, else the
// session cookie.
func (h *authHandlers) authenticate(g *gin.Context) (*Principal, error) {
	ctx := g.Request.Context()
	if hdr := g.GetHeader("Authorization"); hdr != "" {
		secret, ok := strings.CutPrefix(hdr, "Bearer ")
		if !ok || !strings.HasPrefix(secret, tokenPrefix) {
			return nil, procure.Errorf(procure.EUNAUTHORIZED, "Authorization must be \"Bearer %s…\"", tokenPrefix)
		}
		t, u, err := h.store.FindToken(ctx, hashSecret(secret), h.now())
		if err != nil {
			return nil, err
		}
		if u != nil {
			p := principalOfUser(u, viaToken)
			p.Token = t
			return p, nil
		}
		// Every plant, one supplier: the supplier predicate scopes it.
		return &Principal{Via: viaToken, Token: t, Tenant: t.Tenant, Role: procure.RoleSupplier, Supplier: t.Supplier}, nil
	}
	ck, err := g.Cookie(sessionCookie)
	if err != nil || ck == "" {
		return nil, procure.Errorf(procure.EUNAUTHORIZED, "sign in, or send an API token")
	}
	s, u, err := h.store.FindSession(ctx, hashSecret(ck), h.now())
	if err != nil {
		return nil, err
	}
	p := principalOfUser(u, viaSession)
	p.CSRF = s.CSRF
	return p, nil
}

func hashSecret(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func randomSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func constantEqual(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// argon2id parameters (RFC 9106 / OWASP: 19 MiB, 2 passes, 1 lane).
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the argon2id PHC string of password.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// CheckPassword reports whether password matches the PHC string.
func CheckPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummyHash is checked against when the login is unknown, so that a wrong
// login takes as long as a wrong password.
var dummyHash = HashPassword("not a password")

var loginRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._@-]{1,63}$`)

// NewUser is what AddUser needs.
type NewUser struct {
	Tenant   string
	Login    string
	Name     string
	Email    string
	Role     string
	Plants   []string
	Password string
}

func (n *NewUser) validate() error {
	switch {
	case n.Tenant == "":
		return invalid("tenant", "is required")
	case !loginRE.MatchString(n.Login):
		return invalid("login", "must be 2-64 lowercase letters, digits or . _ @ -")
	case !slices.Contains(procure.UserRoles, n.Role):
		return invalid("role", "must be one of %s", strings.Join(procure.UserRoles, ", "))
	case n.Role == procure.RolePlant && len(n.Plants) == 0:
		return invalid("plants", "a plant user needs at least one plant")
	case n.Role != procure.RolePlant && len(n.Plants) > 0:
		return invalid("plants", "only plant users are scoped to plants")
	case len(n.Password) < 10 && n.Password != "":
		return invalid("password", "must be at least 10 characters")
	}
	return nil
}

// AddUser creates a user (the `supplywatch user add` command). An empty
// password makes a user who signs in by OIDC only.
func AddUser(ctx context.Context, store procure.UserStore, n NewUser) (*procure.User, error) {
	if err := n.validate(); err != nil {
		return nil, err
	}
	u := &procure.User{Tenant: n.Tenant, Login: n.Login, Name: n.Name, Email: n.Email, Role: n.Role, Plants: n.Plants}
	hash := ""
	if n.Password != "" {
		hash = HashPassword(n.Password)
	}
	if err := store.CreateUser(ctx, u, hash); err != nil {
		return nil, err
	}
	return u, nil
}

// SignIn is a demo user's credentials.
type SignIn struct {
	Login, Password, Role string
	Plants                []string
}

// EnsureDemoUsers makes one demo user per role in tenant (the plant user
// scoped to plants[0], P01 when none) and returns their sign-ins. Existing
// demo users keep the password they were created with, so it is derived
// from seed: the same seed gives the same passwords across restarts.
func EnsureDemoUsers(ctx context.Context, store procure.UserStore, tenant string, plants []string, seed string) ([]SignIn, error) {
	if len(plants) == 0 {
		plants = []string{"P01"}
	}
	var out []SignIn
	for _, role := range procure.UserRoles {
		n := NewUser{Tenant: tenant, Login: "demo-" + role, Name: "Demo " + role, Role: role}
		if role == procure.RolePlant {
			n.Plants = plants[:1]
		}
		h := sha256.Sum256([]byte(seed + "/" + tenant + "/" + role))
		n.Password = base64.RawURLEncoding.EncodeToString(h[:12])
		if _, err := AddUser(ctx, store, n); err != nil && procure.ErrorCode(err) != procure.ECONFLICT {
			return nil, fmt.Errorf("demo user %s: %w", n.Login, err)
		}
		out = append(out, SignIn{Login: n.Login, Password: n.Password, Role: role, Plants: n.Plants})
	}
	return out, nil
}

// NewToken creates an API token for a user (userID) or a supplier and
// returns its secret, shown once.
func NewToken(ctx context.Context, store procure.UserStore, t *procure.Token) (string, error) {
	secret := tokenPrefix + randomSecret(32)
	t.TokenHash = hashSecret(secret)
	if err := store.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return secret, nil
}

func (h *authHandlers) secureCookies(g *gin.Context) bool {
	return g.Request.TLS != nil || strings.HasPrefix(h.cfg.PublicURL, "https://")
}

// startSession creates a session for u and sets its cookies.
func (h *authHandlers) startSession(g *gin.Context, u *procure.User, how string) (*Principal, error) {
	secret, csrf := randomSecret(32), randomSecret(24)
	s := &procure.Session{TokenHash: hashSecret(secret), UserID: u.ID, CSRF: csrf, ExpiresAt: h.now().Add(h.cfg.SessionTTL),
		RemoteAddr: g.ClientIP(), UserAgent: g.Request.UserAgent()}
	if err := h.store.CreateSession(g.Request.Context(), s); err != nil {
		return nil, err
	}
	secure := h.secureCookies(g)
	maxAge := int(h.cfg.SessionTTL.Seconds())
	http.SetCookie(g.Writer, &http.Cookie{Name: sessionCookie, Value: secret, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	http.SetCookie(g.Writer, &http.Cookie{Name: csrfCookie, Value: csrf, Path: "/", MaxAge: maxAge, Secure: secure, SameSite: http.SameSiteStrictMode})
	p := principalOfUser(u, viaSession)
	p.CSRF = csrf
	httpauth.SetPrincipal(g, p)
	h.audit(g, "auth.sign_in", "user/"+u.Login, map[string]string{"method": how})
	return p, nil
}

type meBody struct {
	User      *procure.User `json:"user"`
	Role      string        `json:"role"`
	Tenant    string        `json:"tenant"`
	Plants    []string      `json:"plants"`
	AllPlants bool          `json:"all_plants"`
	CSRFToken string        `json:"csrf_token,omitempty"`
	Can       []string      `json:"can"`
}

func (h *authHandlers) meOf(p *Principal) meBody {
	var can []string
	for _, r := range h.routes {
		if !r.public && slices.Contains(r.roles, p.Role) {
			can = append(can, r.method+" "+r.path)
		}
	}
	return meBody{User: p.User, Role: p.Role, Tenant: p.Tenant, Plants: p.Plants, AllPlants: p.Plants == nil, CSRFToken: p.CSRF, Can: can}
}

func (h *authHandlers) login(g *gin.Context) {
	var in struct {
		Login    string `json:"login"`
		Password string `json:"password"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	if strings.TrimSpace(in.Login) == "" {
		h.fail(g, invalid("login", "is required"))
		return
	}
	if in.Password == "" {
		h.fail(g, invalid("password", "is required"))
		return
	}
	login, addr := strings.ToLower(strings.TrimSpace(in.Login)), g.ClientIP()
	if len(login) > maxLoginLen {
		h.fail(g, invalid("login", "must be at most %d characters", maxLoginLen))
		return
	}
	if len(in.Password) > maxPasswordLen {
		h.fail(g, invalid("password", "must be at most %d bytes", maxPasswordLen))
		return
	}
	// The attempt is counted before the password is checked, so parallel
	// guesses for one login cannot all be checked before the first fails.
	if wait := h.logins.begin(login, addr, h.now()); wait > 0 {
		h.tooMany(g, wait, fmt.Sprintf("too many failed sign-ins: try again in %d s", int(math.Ceil(wait.Seconds()))))
		return
	}
	checked, ok := false, false
	defer func() { h.logins.end(login, addr, h.now(), checked, ok) }()
	// argon2id needs 19 MiB a check: only so many run at once.
	if !h.hashing.TryAcquire(1) {
		h.tooMany(g, time.Second, "too many sign-ins at once: try again in 1 s")
		return
	}
	u, hash, err := h.store.FindUserByLogin(g.Request.Context(), login)
	if err != nil && procure.ErrorCode(err) != procure.ENOTFOUND {
		h.hashing.Release(1)
		h.fail(g, err)
		return
	}
	if u == nil || hash == "" {
		CheckPassword(dummyHash, in.Password)
	}
	ok = u != nil && hash != "" && !u.Disabled && CheckPassword(hash, in.Password)
	h.hashing.Release(1)
	checked = true
	if !ok {
		h.auditAnonymous(g, "auth.sign_in_failed", "user/"+login)
		h.fail(g, procure.Errorf(procure.EUNAUTHORIZED, "wrong login or password"))
		return
	}
	p, err := h.startSession(g, u, "password")
	if err != nil {
		h.fail(g, err)
		return
	}
	h.respond(g, http.StatusOK, h.meOf(p))
}

// maxPasswordLen bounds what argon2id is given to hash.
const maxPasswordLen = 1024

// tooMany answers 429 with Retry-After.
func (h *authHandlers) tooMany(g *gin.Context, wait time.Duration, msg string) {
	g.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	h.respond(g, http.StatusTooManyRequests, httperr.Body{Error: httperr.Detail{Code: "too_many_requests", Message: msg}})
}

// auditAnonymous records a failed sign-in (no principal; tenant unknown).
func (h *authHandlers) auditAnonymous(g *gin.Context, action, target string) {
	e := &procure.AuditEntry{At: h.now(), Tenant: "", Actor: "anonymous", ActorKind: "anonymous", Action: action, Target: target,
		RemoteAddr: g.ClientIP(), UserAgent: g.Request.UserAgent()}
	if err := h.audits.Audit(g.Request.Context(), e); err != nil {
		h.log.Error("audit failed", "action", action, "err", err)
	}
}

func (h *authHandlers) logout(g *gin.Context) {
	if ck, err := g.Cookie(sessionCookie); err == nil {
		if err := h.store.DeleteSession(g.Request.Context(), hashSecret(ck)); err != nil {
			h.fail(g, err)
			return
		}
	}
	secure := h.secureCookies(g)
	http.SetCookie(g.Writer, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode})
	http.SetCookie(g.Writer, &http.Cookie{Name: csrfCookie, Value: "", Path: "/", MaxAge: -1, Secure: secure, SameSite: http.SameSiteStrictMode})
	h.audit(g, "auth.sign_out", "", nil)
	g.Status(http.StatusNoContent)
}

func (h *authHandlers) me(g *gin.Context) { h.respond(g, http.StatusOK, h.meOf(principalOf(g))) }

func (h *authHandlers) authConfig(g *gin.Context) {
	out := gin.H{"password": true, "oidc": h.oidc != nil}
	if h.oidc != nil {
		out["oidc_name"] = h.cfg.OIDC.Name
	}
	h.respond(g, http.StatusOK, out)
}

func (h *adminHandlers) listUsers(g *gin.Context) {
	us, err := h.store.FindUsers(g.Request.Context(), principalOf(g).Tenant)
	respondList(h.kit, g, "users", us, err)
}

func (h *adminHandlers) createUser(g *gin.Context) {
	var in struct {
		Login    string   `json:"login"`
		Name     string   `json:"name"`
		Email    string   `json:"email"`
		Role     string   `json:"role"`
		Plants   []string `json:"plants"`
		Password string   `json:"password"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	p := principalOf(g)
	u, err := AddUser(g.Request.Context(), h.store, NewUser{Tenant: p.Tenant, Login: in.Login, Name: in.Name, Email: in.Email,
		Role: in.Role, Plants: in.Plants, Password: in.Password})
	if err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "user.create", "user/"+u.Login, gin.H{"role": u.Role, "plants": u.Plants})
	h.respond(g, http.StatusCreated, u)
}

// updateUser changes a user's role, plant scope or disabled flag. A
// disabled user's sessions end and tokens stop working at once; role and
// scope changes apply from the user's next request. Admins cannot disable
// or demote themselves (someone must stay able to undo it).
func (h *adminHandlers) updateUser(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		h.fail(g, err)
		return
	}
	var in struct {
		Role     *string   `json:"role"`
		Plants   *[]string `json:"plants"`
		Disabled *bool     `json:"disabled"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	if in.Role == nil && in.Plants == nil && in.Disabled == nil {
		h.fail(g, invalid("role", "give role, plants or disabled"))
		return
	}
	p := principalOf(g)
	before, after, err := h.store.UpdateUser(g.Request.Context(), p.Tenant, id, func(u *procure.User) error {
		if in.Role != nil {
			if !slices.Contains(procure.UserRoles, *in.Role) {
				return invalid("role", "must be one of %s", strings.Join(procure.UserRoles, ", "))
			}
			if *in.Role != u.Role && u.Role == procure.RolePlant && in.Plants == nil {
				u.Plants = nil // leaving the plant role leaves its scope
			}
			u.Role = *in.Role
		}
		if in.Plants != nil {
			u.Plants = *in.Plants
		}
		if in.Disabled != nil {
			u.Disabled = *in.Disabled
		}
		switch {
		case u.Role == procure.RolePlant && len(u.Plants) == 0:
			return invalid("plants", "a plant user needs at least one plant")
		case u.Role != procure.RolePlant && len(u.Plants) > 0:
			return invalid("plants", "only plant users are scoped to plants")
		case p.User != nil && u.ID == p.User.ID && (u.Disabled || u.Role != procure.RoleAdmin):
			return invalid("role", "you cannot disable or demote yourself: ask another admin")
		}
		return nil
	})
	if err != nil {
		h.fail(g, err)
		return
	}
	action := "user.update"
	switch {
	case after.Disabled && !before.Disabled:
		action = "user.disable"
	case !after.Disabled && before.Disabled:
		action = "user.enable"
	}
	h.audit(g, action, "user/"+after.Login, gin.H{
		"before": gin.H{"role": before.Role, "plants": before.Plants, "disabled": before.Disabled},
		"after":  gin.H{"role": after.Role, "plants": after.Plants, "disabled": after.Disabled}})
	h.respond(g, http.StatusOK, after)
}

func (h *adminHandlers) listTokens(g *gin.Context) {
	ts, err := h.store.FindTokens(g.Request.Context(), principalOf(g).Tenant)
	respondList(h.kit, g, "tokens", ts, err)
}

func (h *adminHandlers) createToken(g *gin.Context) {
	var in struct {
		Name     string `json:"name"`
		Login    string `json:"login"`
		Supplier string `json:"supplier"`
		TTLHours int    `json:"ttl_hours"`
	}
	if err := bind(g, &in); err != nil {
		h.fail(g, err)
		return
	}
	p := principalOf(g)
	t := &procure.Token{Tenant: p.Tenant, Name: strings.TrimSpace(in.Name), CreatedBy: p.Name()}
	switch {
	case t.Name == "":
		h.fail(g, invalid("name", "is required"))
		return
	case (in.Login == "") == (in.Supplier == ""):
		h.fail(g, invalid("login", "give either login (a user token) or supplier (a supplier token)"))
		return
	case in.TTLHours < 0:
		h.fail(g, invalid("ttl_hours", "must not be negative"))
		return
	}
	if in.TTLHours > 0 {
		t.ExpiresAt = h.now().Add(time.Duration(in.TTLHours) * time.Hour)
	}
	if in.Login != "" {
		// A user token acts as its user: nobody mints one for someone else
		// (an admin would act under another name, past that user's audit).
		if p.User == nil || !strings.EqualFold(in.Login, p.User.Login) {
			h.fail(g, procure.Errorf(procure.EFORBIDDEN, "a user token acts as its user: sign in as %s to create one", in.Login))
			return
		}
		t.UserID = p.User.ID
	} else {
		t.Supplier = in.Supplier
	}
	secret, err := NewToken(g.Request.Context(), h.store, t)
	if err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "token.create", fmt.Sprintf("token/%d", t.ID), gin.H{"name": t.Name, "login": in.Login, "supplier": t.Supplier})
	h.respond(g, http.StatusCreated, gin.H{"token": t, "secret": secret})
}

func (h *adminHandlers) revokeToken(g *gin.Context) {
	id, err := pathID(g, "id")
	if err != nil {
		h.fail(g, err)
		return
	}
	if err := h.store.RevokeToken(g.Request.Context(), principalOf(g).Tenant, id, h.now()); err != nil {
		h.fail(g, err)
		return
	}
	h.audit(g, "token.revoke", fmt.Sprintf("token/%d", id), nil)
	g.Status(http.StatusNoContent)
}

func (h *adminHandlers) listAudit(g *gin.Context) {
	es, err := h.store.FindAudit(g.Request.Context(), principalOf(g).Tenant, 200)
	respondList(h.kit, g, "entries", es, err)
}

var errNoOIDC = errors.New("no OIDC provider is configured")
