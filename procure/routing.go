package procure

import (
	"context"
	"time"
)

// Team is a group of people exceptions are routed to.
type Team struct {
	ID              int64     `json:"id"`
	Tenant          string    `json:"tenant"`
	Name            string    `json:"name"`
	Queue           string    `json:"queue"`
	DefaultAssignee string    `json:"default_assignee"`
	Members         []string  `json:"members"`
	Version         int64     `json:"version"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// RoutingRule sends matching exceptions to a team. Empty match fields
// match anything; the lowest position wins.
type RoutingRule struct {
	ID       int64  `json:"id"`
	Tenant   string `json:"tenant"`
	Position int    `json:"position"`
	Rule     string `json:"rule"`
	Plant    string `json:"plant"`
	Supplier string `json:"supplier"`
	// Segment is a supplier segment of the rule files ("pilot", or
	// "!pilot" for suppliers outside it); empty matches any supplier.
	Segment   string    `json:"segment"`
	Severity  string    `json:"severity"`
	Team      string    `json:"team"`
	Assignee  string    `json:"assignee"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// SavedView is a user's named queue filter (the query string of the queue).
type SavedView struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"-"`
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	CreatedAt time.Time `json:"created_at"`
}

// RoutingStore keeps teams and routing rules.
type RoutingStore interface {
	FindTeams(ctx context.Context, tenant string) ([]*Team, error)
	// SaveTeam inserts (ID 0) or updates a team with an optimistic check.
	SaveTeam(ctx context.Context, t *Team) error
	FindRoutingRules(ctx context.Context, tenant string) ([]*RoutingRule, error)
	CreateRoutingRule(ctx context.Context, r *RoutingRule) error
	DeleteRoutingRule(ctx context.Context, tenant string, id int64) error
	// Route applies the first matching routing rule to an exception not
	// yet assigned; it reports whether it changed the exception.
	Route(ctx context.Context, exceptionID int64, at time.Time) (bool, error)
}

// ViewStore keeps saved views.
type ViewStore interface {
	FindViews(ctx context.Context, userID int64) ([]*SavedView, error)
	SaveView(ctx context.Context, v *SavedView) error
	DeleteView(ctx context.Context, userID, id int64) error
}
