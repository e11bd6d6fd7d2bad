package app

import (
	"context"
	"strconv"
	"strings"

	goslack "github.com/slack-go/slack"
	"github.com/supplywatch/supplywatch/alerts"
	"github.com/supplywatch/supplywatch/procure"
)

// SlackUsers maps a Slack user to the console user with the same e-mail
// address (Slack's users.info; the console owns users and roles). A Slack
// user without a matching, enabled console user is refused.
type SlackUsers struct {
	API   *goslack.Client
	Users interface {
		FindUserByEmail(ctx context.Context, email string) (*procure.User, error)
	}
}

var _ alerts.UserResolver = (*SlackUsers)(nil)

// ResolveSlackUser implements alerts.UserResolver.
func (s *SlackUsers) ResolveSlackUser(ctx context.Context, teamID, slackUserID string) (alerts.User, error) {
	info, err := s.API.GetUserInfoContext(ctx, slackUserID)
	if err != nil {
		return alerts.User{}, procure.Errorf(procure.EUNAUTHORIZED, "slack user %s: %v", slackUserID, err)
	}
	email := strings.TrimSpace(info.Profile.Email)
	if email == "" {
		return alerts.User{}, procure.Errorf(procure.EUNAUTHORIZED, "slack user %s has no e-mail address to match a console user", slackUserID)
	}
	u, err := s.Users.FindUserByEmail(ctx, email)
	if err != nil || u == nil || u.Disabled {
		return alerts.User{}, procure.Errorf(procure.EUNAUTHORIZED, "no enabled console user for slack user %s", slackUserID)
	}
	return alerts.User{ID: strconv.FormatInt(u.ID, 10), Login: u.Login, Name: u.Name, Role: u.Role, Tenant: u.Tenant, Plants: u.Plants}, nil
}

// SlackClient returns a Slack Web API client (apiURL overrides Slack's, for tests).
func SlackClient(token, apiURL string) *goslack.Client {
	var opts []goslack.Option
	if apiURL != "" {
		if !strings.HasSuffix(apiURL, "/") {
			apiURL += "/"
		}
		opts = append(opts, goslack.OptionAPIURL(apiURL))
	}
	return goslack.New(token, opts...)
}
