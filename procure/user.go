package procure

import (
	"context"
	"time"
)

// The console's people and what they may see: users, their sessions and
// API tokens, and the scope that stores turn into SQL predicates.

// Roles of console users. Supplier is the role of supplier-scoped tokens,
// never of a user.
const (
	RoleProcurement = "procurement"
	RolePlant       = "plant"
	RoleExecutive   = "executive"
	RoleOncall      = "oncall"
	RoleAdmin       = "admin"
	RoleSupplier    = "supplier"
)

// UserRoles are the roles a user may have.
var UserRoles = []string{RoleProcurement, RolePlant, RoleExecutive, RoleOncall, RoleAdmin}

// User is a person who signs in.
type User struct {
	ID        int64     `json:"id"`
	Tenant    string    `json:"tenant"`
	Login     string    `json:"login"`
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	Role      string    `json:"role"`
	Plants    []string  `json:"plants"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// Session is a signed-in browser. The secret is in the cookie; the store
// keeps its hash.
type Session struct {
	TokenHash  []byte
	UserID     int64
	CSRF       string
	ExpiresAt  time.Time
	RemoteAddr string
	UserAgent  string
}

// Token is an API token: of a user (acting with the user's role and scope)
// or of a supplier (the supplier API only).
type Token struct {
	ID        int64     `json:"id"`
	TokenHash []byte    `json:"-"`
	Tenant    string    `json:"tenant"`
	Name      string    `json:"name"`
	UserID    int64     `json:"user_id,omitempty"`
	Supplier  string    `json:"supplier,omitempty"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	LastUsed  time.Time `json:"last_used_at"`
	Revoked   bool      `json:"revoked"`
}

// Scope is what a principal may see; stores turn it into SQL predicates.
// Plants nil means every plant of the tenant; Supplier non-empty limits to
// one supplier's documents.
type Scope struct {
	Tenant   string
	Plants   []string
	Supplier string
}

// AllPlants reports whether the scope spans every plant of the tenant.
func (s Scope) AllPlants() bool { return s.Plants == nil }

// HasPlant reports whether plant is within the scope.
func (s Scope) HasPlant(plant string) bool {
	if s.Plants == nil {
		return true
	}
	for _, p := range s.Plants {
		if p == plant {
			return true
		}
	}
	return false
}

// UserStore keeps users, sessions and tokens.
type UserStore interface {
	CreateUser(ctx context.Context, u *User, passwordHash string) error
	// FindUserByLogin returns the user and its password hash, or ENOTFOUND.
	FindUserByLogin(ctx context.Context, login string) (*User, string, error)
	FindUserByEmail(ctx context.Context, email string) (*User, error)
	FindUsers(ctx context.Context, tenant string) ([]*User, error)
	// UpdateUser changes a user of tenant under a lock: change edits role,
	// plants and disabled (an error from it aborts). Disabling ends the
	// user's sessions. Unknown (or another tenant's) user: ENOTFOUND.
	UpdateUser(ctx context.Context, tenant string, id int64, change func(u *User) error) (before, after *User, err error)
	CreateSession(ctx context.Context, s *Session) error
	// FindSession returns an unexpired session and its enabled user, or
	// EUNAUTHORIZED.
	FindSession(ctx context.Context, tokenHash []byte, now time.Time) (*Session, *User, error)
	DeleteSession(ctx context.Context, tokenHash []byte) error
	CreateToken(ctx context.Context, t *Token) error
	// FindToken returns a live token and, for a user token, its enabled
	// user; or EUNAUTHORIZED.
	FindToken(ctx context.Context, tokenHash []byte, now time.Time) (*Token, *User, error)
	FindTokens(ctx context.Context, tenant string) ([]*Token, error)
	RevokeToken(ctx context.Context, tenant string, id int64, at time.Time) error
}
