// Package slack is the Slack adapter of package alerts (slack-go): the
// Poster that renders a group as a Block Kit message, posts it, updates it
// in place and threads replies under it, tagging each message with its
// delivery id in message metadata so that a crashed attempt is found again
// instead of posted twice; the request Verifier (v0 signatures); and the
// gin handler of interactive buttons.
//
// It leaves what to send and when to package alerts.
package slack

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"
	"github.com/supplywatch/supplywatch/alerts"
)

// Config says how to reach Slack.
type Config struct {
	Token         string `yaml:"token" env:"TOKEN"`
	SigningSecret string `yaml:"signing_secret" env:"SIGNING_SECRET"`
	// Workspaces maps each Slack workspace (team id, "T0123") whose members
	// may press buttons to the tenant it belongs to; a click from any other
	// workspace, or by a user of another tenant, does nothing.
	Workspaces map[string]string `yaml:"workspaces" env:"WORKSPACES"`
	// APIURL overrides https://slack.com/api/ (tests).
	APIURL string `yaml:"api_url" env:"API_URL"`
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	if c.Token == "" || c.SigningSecret == "" {
		return errors.New("slack: token and signing_secret are required")
	}
	return nil
}

// metadataType is the Slack message metadata event type of our messages.
const metadataType = "supplywatch_alert"

// Poster implements alerts.Poster with the Web API.
type Poster struct {
	api *slack.Client
}

var _ alerts.Poster = (*Poster)(nil)

// NewPoster returns a Poster.
func NewPoster(cfg Config) *Poster {
	var opts []slack.Option
	if cfg.APIURL != "" {
		u := cfg.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		opts = append(opts, slack.OptionAPIURL(u))
	}
	return &Poster{api: slack.New(cfg.Token, opts...)}
}

type retryAfter struct {
	err error
	d   time.Duration
}

func (e *retryAfter) Error() string             { return e.err.Error() }
func (e *retryAfter) Unwrap() error             { return e.err }
func (e *retryAfter) RetryAfter() time.Duration { return e.d }

// permanentErrors are Slack error codes that retrying cannot fix.
var permanentErrors = map[string]bool{"channel_not_found": true, "not_in_channel": true, "invalid_auth": true,
	"account_inactive": true, "token_revoked": true, "is_archived": true, "msg_too_long": true, "invalid_blocks": true,
	"no_text": true, "restricted_action": true, "cant_update_message": true, "message_not_found": true, "missing_scope": true}

func classify(err error) error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &retryAfter{err: err, d: rl.RetryAfter}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && permanentErrors[se.Err] {
		return fmt.Errorf("%w: %v", alerts.ErrPermanent, err)
	}
	// An HTTP status: 429 without Retry-After waits a default; any other
	// 4xx is a request Slack will refuse again; 5xx is retried.
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		switch {
		case sc.Code == 429:
			return &retryAfter{err: err, d: 5 * time.Second}
		case sc.Code >= 400 && sc.Code < 500:
			return fmt.Errorf("%w: %v", alerts.ErrPermanent, err)
		}
	}
	return err
}

// Send posts, updates or replies.
func (p *Poster) Send(ctx context.Context, n *alerts.Notice) (string, error) {
	meta := slack.MsgOptionMetadata(slack.SlackMetadata{EventType: metadataType,
		EventPayload: map[string]any{"delivery_id": strconv.FormatInt(n.DeliveryID, 10)}})
	var opts []slack.MsgOption
	switch n.Kind {
	case "post", "update":
		text, blocks := Render(n.Group)
		opts = []slack.MsgOption{slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...)}
	case "reply", "digest":
		opts = []slack.MsgOption{slack.MsgOptionText(n.Text, false)}
	default:
		return "", fmt.Errorf("%w: unknown notice kind %q", alerts.ErrPermanent, n.Kind)
	}
	if n.Kind == "update" {
		_, ts, _, err := p.api.UpdateMessageContext(ctx, n.Channel, n.TS, opts...)
		if err != nil {
			return "", classify(err)
		}
		return ts, nil
	}
	opts = append(opts, meta)
	if n.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(n.ThreadTS))
	}
	_, ts, err := p.api.PostMessageContext(ctx, n.Channel, opts...)
	if err != nil {
		return "", classify(err)
	}
	return ts, nil
}

// FindSent looks for a message carrying deliveryID in the channel since
// since: top-level messages with conversations.history, thread replies with
// conversations.replies of the threads found.
func (p *Poster) FindSent(ctx context.Context, channel string, deliveryID int64, since time.Time) (string, error) {
	want := strconv.FormatInt(deliveryID, 10)
	oldest := fmt.Sprintf("%d.000000", since.Unix())
	cursor := ""
	for range 20 {
		h, err := p.api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: channel,
			Oldest: oldest, Limit: 200, Cursor: cursor, IncludeAllMetadata: true})
		if err != nil {
			return "", classify(err)
		}
		for _, m := range h.Messages {
			if m.Metadata.EventType == metadataType && fmt.Sprint(m.Metadata.EventPayload["delivery_id"]) == want {
				return m.Timestamp, nil
			}
			if m.ReplyCount > 0 {
				rs, _, _, err := p.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{ChannelID: channel,
					Timestamp: m.Timestamp, Oldest: oldest, IncludeAllMetadata: true})
				if err != nil {
					return "", classify(err)
				}
				for _, r := range rs {
					if r.Metadata.EventType == metadataType && fmt.Sprint(r.Metadata.EventPayload["delivery_id"]) == want {
						return r.Timestamp, nil
					}
				}
			}
		}
		if !h.HasMore || h.ResponseMetaData.NextCursor == "" {
			return "", nil
		}
		cursor = h.ResponseMetaData.NextCursor
	}
	return "", nil
}
