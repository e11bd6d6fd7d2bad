package slack

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/slack-go/slack"
	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/internal/httpauth"
	"github.com/supplywatch/supplywatch/internal/httperr"
	"github.com/supplywatch/supplywatch/procure"
)

// Actor performs a button's action (alerts.Dispatcher.Act).
type Actor interface {
	Act(ctx context.Context, u alerts.User, groupID int64, action string) (string, error)
}

// Interactions is the request URL of Slack's interactive components.
type Interactions struct {
	secret string
	// workspaces maps a Slack workspace (team id) to the tenant it serves.
	workspaces map[string]string
	users      alerts.UserResolver
	actor      Actor
	log        *slog.Logger
	now        func() time.Time
}

// NewInteractions returns the handler; workspaces maps each Slack
// workspace (team id) allowed to act to its tenant (Config.Workspaces:
// none, no button works); now is the clock of the signature window
// (time.Now when nil).
func NewInteractions(signingSecret string, workspaces map[string]string, users alerts.UserResolver, actor Actor, log *slog.Logger, now func() time.Time) *Interactions {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Interactions{secret: signingSecret, workspaces: workspaces, users: users, actor: actor, log: log, now: now}
}

// Register adds POST /slack/interactions behind httpauth.Require with
// Slack's scheme: no session, Slack's signature over the body (at most
// 1 MiB) is the authentication.
func (h *Interactions) Register(r gin.IRouter) {
	r.POST("/slack/interactions", httpauth.Require(httpauth.Scheme{
		MaxBody: 1 << 20,
		Verify: func(c *gin.Context, _ any, body []byte) error {
			return Verify(h.secret, c.Request.Header, body, h.now())
		},
		Fail: func(c *gin.Context, err error) {
			h.log.Warn("slack interaction refused", "err", err, "remote", c.ClientIP())
			httperr.Abort(c, http.StatusUnauthorized, httperr.Detail{Code: procure.EUNAUTHORIZED, Message: procure.ErrorMessage(err)})
		},
	}), h.Handle)
}

// Handle checks that the workspace is one of supplywatch's and maps the
// Slack user to a console user of its tenant, and performs each button
// action (authorised per exception by the actor), on a request whose
// signature Register's middleware verified. Refusals answer 200 with an
// ephemeral text (what Slack shows the clicker); a bad signature answers
// 401.
func (h *Interactions) Handle(c *gin.Context) {
	body := httpauth.Body(c)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		c.AbortWithStatus(http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		c.AbortWithStatus(http.StatusBadRequest)
		return
	}
	ctx := c.Request.Context()
	tenant, ok := h.workspaces[cb.Team.ID]
	if !ok || tenant == "" {
		h.log.Warn("slack interaction from a workspace not in slack.workspaces", "team", cb.Team.ID)
		c.JSON(http.StatusOK, ephemeral("This Slack workspace is not linked to supplywatch."))
		return
	}
	u, err := h.users.ResolveSlackUser(ctx, cb.Team.ID, cb.User.ID)
	if err != nil {
		c.JSON(http.StatusOK, ephemeral("You are not a supplywatch user: "+alerts.Escape(procure.ErrorMessage(err))))
		return
	}
	if u.Tenant != tenant {
		// The same e-mail in another tenant's console is not this user.
		c.JSON(http.StatusOK, ephemeral("You are not a supplywatch user of this workspace."))
		return
	}
	reply := "Nothing to do."
	for _, a := range cb.ActionCallback.BlockActions {
		id, err := strconv.ParseInt(a.Value, 10, 64)
		if err != nil {
			c.JSON(http.StatusOK, ephemeral("Unknown alert."))
			return
		}
		msg, err := h.actor.Act(ctx, u, id, a.ActionID)
		if err != nil {
			if procure.ErrorCode(err) == procure.EINTERNAL {
				h.log.Error("slack action", "action", a.ActionID, "group", id, "user", u.ID, "err", err)
			}
			c.JSON(http.StatusOK, ephemeral("Not done: "+alerts.Escape(procure.ErrorMessage(err))))
			return
		}
		reply = msg
	}
	c.JSON(http.StatusOK, ephemeral(reply))
}

func ephemeral(text string) gin.H {
	return gin.H{"response_type": "ephemeral", "replace_original": false, "text": text}
}
