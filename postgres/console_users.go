package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/supplywatch/supplywatch/procure"
)

// ConsoleStore implements procure's console contracts.
var (
	_ procure.UserStore        = (*ConsoleStore)(nil)
	_ procure.QueueStore       = (*ConsoleStore)(nil)
	_ procure.RoutingStore     = (*ConsoleStore)(nil)
	_ procure.ViewStore        = (*ConsoleStore)(nil)
	_ procure.RetryStore       = (*ConsoleStore)(nil)
	_ procure.AuditStore       = (*ConsoleStore)(nil)
	_ procure.ValueAtRiskStore = (*ConsoleStore)(nil)
)

// ConsoleStore keeps what the console owns (users, sessions, tokens, teams,
// routing, saved views, snoozes, retries, audit) and reads the workflow
// state for it. Every read and change of workflow state takes a
// procure.Scope and turns it into predicates of the query itself: an
// exception, document or order outside the scope is not found.
type ConsoleStore struct {
	db *DB
	// Segments lists the supplier segments (of the rule files) a supplier
	// is in, for routing rules with a segment (rules.SegmentFinder); nil:
	// every supplier is in none.
	Segments func(ctx context.Context, tenant, supplier string) ([]string, error)
}

// NewConsoleStore returns a ConsoleStore on db.
func NewConsoleStore(db *DB) *ConsoleStore { return &ConsoleStore{db: db} }

func uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

const userCols = `id, tenant, login, name, email, role, plants, disabled, created_at`

func scanUser(row pgx.Row, extra ...any) (*procure.User, error) {
	var u procure.User
	dst := append([]any{&u.ID, &u.Tenant, &u.Login, &u.Name, &u.Email, &u.Role, &u.Plants, &u.Disabled, &u.CreatedAt}, extra...)
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	if u.Role != procure.RolePlant {
		u.Plants = nil
	}
	return &u, nil
}

// CreateUser inserts u and sets its ID; a taken login is ECONFLICT.
func (s *ConsoleStore) CreateUser(ctx context.Context, u *procure.User, passwordHash string) error {
	plants := u.Plants
	if plants == nil {
		plants = []string{}
	}
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO console_users (tenant, login, name, email, role, plants, password_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
		u.Tenant, u.Login, u.Name, u.Email, u.Role, plants, passwordHash).Scan(&u.ID, &u.CreatedAt)
	if uniqueViolation(err) {
		return procure.Errorf(procure.ECONFLICT, "user %q exists", u.Login)
	}
	if err != nil {
		return fmt.Errorf("create user %q: %w", u.Login, err)
	}
	return nil
}

// FindUserByLogin returns the user and its password hash.
func (s *ConsoleStore) FindUserByLogin(ctx context.Context, login string) (*procure.User, string, error) {
	var hash string
	u, err := scanUser(s.db.Pool.QueryRow(ctx, `SELECT `+userCols+`, password_hash FROM console_users WHERE login = $1`, login), &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", procure.Errorf(procure.ENOTFOUND, "user %q not found", login)
	}
	return u, hash, err
}

// FindUserByEmail returns the user with that email (case-insensitive).
func (s *ConsoleStore) FindUserByEmail(ctx context.Context, email string) (*procure.User, error) {
	u, err := scanUser(s.db.Pool.QueryRow(ctx, `SELECT `+userCols+` FROM console_users WHERE lower(email) = lower($1) AND email <> ''`, email))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, procure.Errorf(procure.ENOTFOUND, "no user with email %q", email)
	}
	return u, err
}

// FindUsers returns a tenant's users by login.
func (s *ConsoleStore) FindUsers(ctx context.Context, tenant string) ([]*procure.User, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+userCols+` FROM console_users WHERE tenant = $1 ORDER BY login`, tenant)
	if err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	defer rows.Close()
	var out []*procure.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// CreateSession stores a session.
func (s *ConsoleStore) CreateSession(ctx context.Context, se *procure.Session) error {
	_, err := s.db.Pool.Exec(ctx, `INSERT INTO console_sessions (token_hash, user_id, csrf, expires_at, remote_addr, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6)`, se.TokenHash, se.UserID, se.CSRF, se.ExpiresAt, se.RemoteAddr, se.UserAgent)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// FindSession returns a live session and its enabled user.
func (s *ConsoleStore) FindSession(ctx context.Context, hash []byte, now time.Time) (*procure.Session, *procure.User, error) {
	var se procure.Session
	u, err := scanUser(s.db.Pool.QueryRow(ctx, `SELECT u.id, u.tenant, u.login, u.name, u.email, u.role, u.plants, u.disabled, u.created_at,
		s.token_hash, s.user_id, s.csrf, s.expires_at
		FROM console_sessions s JOIN console_users u ON u.id = s.user_id
		WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled`, hash, now),
		&se.TokenHash, &se.UserID, &se.CSRF, &se.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, procure.Errorf(procure.EUNAUTHORIZED, "session expired or unknown: sign in")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find session: %w", err)
	}
	return &se, u, nil
}

// DeleteSession ends a session.
func (s *ConsoleStore) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.db.Pool.Exec(ctx, `DELETE FROM console_sessions WHERE token_hash = $1`, hash)
	return err
}

// CreateToken stores a token and sets its ID.
func (s *ConsoleStore) CreateToken(ctx context.Context, t *procure.Token) error {
	var uid pgtype.Int8
	if t.UserID != 0 {
		uid = pgtype.Int8{Int64: t.UserID, Valid: true}
	}
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO console_tokens (token_hash, tenant, name, user_id, supplier, created_by, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at`,
		t.TokenHash, t.Tenant, t.Name, uid, t.Supplier, t.CreatedBy, ts(t.ExpiresAt)).Scan(&t.ID, &t.CreatedAt)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	return nil
}

const tokenCols = `t.id, t.tenant, t.name, coalesce(t.user_id, 0), t.supplier, t.created_by, t.created_at, t.expires_at, t.last_used_at, t.revoked_at IS NOT NULL`

func scanToken(row pgx.Row, extra ...any) (*procure.Token, error) {
	var t procure.Token
	var exp, used pgtype.Timestamptz
	dst := append([]any{&t.ID, &t.Tenant, &t.Name, &t.UserID, &t.Supplier, &t.CreatedBy, &t.CreatedAt, &exp, &used, &t.Revoked}, extra...)
	if err := row.Scan(dst...); err != nil {
		return nil, err
	}
	t.ExpiresAt, t.LastUsed = exp.Time, used.Time
	return &t, nil
}

// FindToken returns a live token and its user (nil for a supplier token).
func (s *ConsoleStore) FindToken(ctx context.Context, hash []byte, now time.Time) (*procure.Token, *procure.User, error) {
	t, err := scanToken(s.db.Pool.QueryRow(ctx, `UPDATE console_tokens t SET last_used_at = $2
		WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
		RETURNING `+tokenCols, hash, now))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, procure.Errorf(procure.EUNAUTHORIZED, "token unknown, expired or revoked")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("find token: %w", err)
	}
	if t.UserID == 0 {
		return t, nil, nil
	}
	u, err := scanUser(s.db.Pool.QueryRow(ctx, `SELECT `+userCols+` FROM console_users WHERE id = $1 AND NOT disabled`, t.UserID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, procure.Errorf(procure.EUNAUTHORIZED, "token's user is disabled")
	}
	return t, u, err
}

// FindTokens returns a tenant's tokens, newest first.
func (s *ConsoleStore) FindTokens(ctx context.Context, tenant string) ([]*procure.Token, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT `+tokenCols+` FROM console_tokens t WHERE tenant = $1 ORDER BY id DESC`, tenant)
	if err != nil {
		return nil, fmt.Errorf("find tokens: %w", err)
	}
	defer rows.Close()
	var out []*procure.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken revokes a tenant's token.
func (s *ConsoleStore) RevokeToken(ctx context.Context, tenant string, id int64, at time.Time) error {
	tag, err := s.db.Pool.Exec(ctx, `UPDATE console_tokens SET revoked_at = $3 WHERE tenant = $1 AND id = $2 AND revoked_at IS NULL`, tenant, id, at)
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return procure.Errorf(procure.ENOTFOUND, "token %d not found", id)
	}
	return nil
}

// Audit appends an audit entry.
func (s *ConsoleStore) Audit(ctx context.Context, e *procure.AuditEntry) error {
	detail := e.Detail
	if len(detail) == 0 {
		detail = []byte("{}")
	}
	at := e.At
	if at.IsZero() {
		at = time.Now()
	}
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO console_audit (at, tenant, actor, actor_kind, action, target, detail, remote_addr, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		at, e.Tenant, e.Actor, e.ActorKind, e.Action, e.Target, detail, e.RemoteAddr, e.UserAgent).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// FindAudit returns a tenant's latest audit entries, newest first.
func (s *ConsoleStore) FindAudit(ctx context.Context, tenant string, limit int) ([]*procure.AuditEntry, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, at, tenant, actor, actor_kind, action, target, detail, remote_addr, user_agent
		FROM console_audit WHERE tenant = $1 ORDER BY id DESC LIMIT $2`, tenant, limit)
	if err != nil {
		return nil, fmt.Errorf("find audit: %w", err)
	}
	var out []*procure.AuditEntry
	var e procure.AuditEntry
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.At, &e.Tenant, &e.Actor, &e.ActorKind, &e.Action, &e.Target, &e.Detail, &e.RemoteAddr, &e.UserAgent}, func() error {
		c := e
		c.Detail = append([]byte(nil), e.Detail...)
		out = append(out, &c)
		return nil
	})
	return out, err
}

// FindViews returns a user's saved views by name.
func (s *ConsoleStore) FindViews(ctx context.Context, userID int64) ([]*procure.SavedView, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, user_id, name, query, created_at FROM console_saved_views WHERE user_id = $1 ORDER BY name`, userID)
	if err != nil {
		return nil, fmt.Errorf("find views: %w", err)
	}
	var out []*procure.SavedView
	var v procure.SavedView
	_, err = pgx.ForEachRow(rows, []any{&v.ID, &v.UserID, &v.Name, &v.Query, &v.CreatedAt}, func() error {
		c := v
		out = append(out, &c)
		return nil
	})
	return out, err
}

// SaveView inserts a view or replaces the user's view of the same name.
func (s *ConsoleStore) SaveView(ctx context.Context, v *procure.SavedView) error {
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO console_saved_views (user_id, name, query) VALUES ($1, $2, $3)
		ON CONFLICT (user_id, name) DO UPDATE SET query = excluded.query RETURNING id, created_at`, v.UserID, v.Name, v.Query).Scan(&v.ID, &v.CreatedAt)
	if err != nil {
		return fmt.Errorf("save view: %w", err)
	}
	return nil
}

// DeleteView deletes a user's view.
func (s *ConsoleStore) DeleteView(ctx context.Context, userID, id int64) error {
	tag, err := s.db.Pool.Exec(ctx, `DELETE FROM console_saved_views WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return fmt.Errorf("delete view: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return procure.Errorf(procure.ENOTFOUND, "view %d not found", id)
	}
	return nil
}

// UpdateUser changes a user of tenant under a row lock: change gets the
// user as stored and edits role, plants and disabled. A disabled user's
// sessions are deleted in the same transaction (their tokens stop working
// with the flag). It returns the user before and after.
func (s *ConsoleStore) UpdateUser(ctx context.Context, tenant string, id int64, change func(u *procure.User) error) (before, after *procure.User, err error) {
	err = pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		u, err := scanUser(tx.QueryRow(ctx, `SELECT `+userCols+` FROM console_users WHERE tenant = $1 AND id = $2 FOR UPDATE`, tenant, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return procure.Errorf(procure.ENOTFOUND, "user %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("find user %d: %w", id, err)
		}
		b := *u
		if err := change(u); err != nil {
			return err
		}
		plants := u.Plants
		if plants == nil || u.Role != procure.RolePlant {
			plants = []string{}
		}
		if _, err := tx.Exec(ctx, `UPDATE console_users SET role = $2, plants = $3, disabled = $4, updated_at = now() WHERE id = $1`,
			id, u.Role, plants, u.Disabled); err != nil {
			return fmt.Errorf("update user %d: %w", id, err)
		}
		if u.Disabled {
			if _, err := tx.Exec(ctx, `DELETE FROM console_sessions WHERE user_id = $1`, id); err != nil {
				return fmt.Errorf("end sessions of user %d: %w", id, err)
			}
		}
		before, after = &b, u
		return nil
	})
	return before, after, err
}
