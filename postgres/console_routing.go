package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/supplywatch/supplywatch/procure"
)

// FindTeams returns a tenant's teams by name.
func (s *ConsoleStore) FindTeams(ctx context.Context, tenant string) ([]*procure.Team, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, tenant, name, queue, default_assignee, members, version, updated_at
		FROM console_teams WHERE tenant = $1 ORDER BY name`, tenant)
	if err != nil {
		return nil, fmt.Errorf("find teams: %w", err)
	}
	out := []*procure.Team{}
	var t procure.Team
	_, err = pgx.ForEachRow(rows, []any{&t.ID, &t.Tenant, &t.Name, &t.Queue, &t.DefaultAssignee, &t.Members, &t.Version, &t.UpdatedAt}, func() error {
		c := t
		out = append(out, &c)
		return nil
	})
	return out, err
}

// SaveTeam inserts a team (ID 0) or updates it if its version is still
// t.Version (ECONFLICT otherwise).
func (s *ConsoleStore) SaveTeam(ctx context.Context, t *procure.Team) error {
	members := t.Members
	if members == nil {
		members = []string{}
	}
	if t.ID == 0 {
		err := s.db.Pool.QueryRow(ctx, `INSERT INTO console_teams (tenant, name, queue, default_assignee, members)
			VALUES ($1, $2, $3, $4, $5) RETURNING id, version, updated_at`, t.Tenant, t.Name, t.Queue, t.DefaultAssignee, members).
			Scan(&t.ID, &t.Version, &t.UpdatedAt)
		if uniqueViolation(err) {
			return procure.Errorf(procure.ECONFLICT, "team %q exists", t.Name)
		}
		if err != nil {
			return fmt.Errorf("create team: %w", err)
		}
		return nil
	}
	err := s.db.Pool.QueryRow(ctx, `UPDATE console_teams SET name = $4, queue = $5, default_assignee = $6, members = $7,
		version = version + 1, updated_at = now() WHERE tenant = $1 AND id = $2 AND version = $3 RETURNING version, updated_at`,
		t.Tenant, t.ID, t.Version, t.Name, t.Queue, t.DefaultAssignee, members).Scan(&t.Version, &t.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return procure.Errorf(procure.ECONFLICT, "team %d changed since it was read, or does not exist", t.ID)
	}
	if uniqueViolation(err) {
		return procure.Errorf(procure.ECONFLICT, "team %q exists", t.Name)
	}
	return err
}

// FindRoutingRules returns a tenant's routing rules in evaluation order.
func (s *ConsoleStore) FindRoutingRules(ctx context.Context, tenant string) ([]*procure.RoutingRule, error) {
	rows, err := s.db.Pool.Query(ctx, `SELECT id, tenant, position, rule_id, plant, supplier, segment, severity, team, assignee, created_by, created_at
		FROM console_routing_rules WHERE tenant = $1 ORDER BY position, id`, tenant)
	if err != nil {
		return nil, fmt.Errorf("find routing rules: %w", err)
	}
	out := []*procure.RoutingRule{}
	var r procure.RoutingRule
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Tenant, &r.Position, &r.Rule, &r.Plant, &r.Supplier, &r.Segment, &r.Severity, &r.Team, &r.Assignee, &r.CreatedBy, &r.CreatedAt}, func() error {
		c := r
		out = append(out, &c)
		return nil
	})
	return out, err
}

// CreateRoutingRule inserts r and sets its ID.
func (s *ConsoleStore) CreateRoutingRule(ctx context.Context, r *procure.RoutingRule) error {
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO console_routing_rules (tenant, position, rule_id, plant, supplier, segment, severity, team, assignee, created_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id, created_at`,
		r.Tenant, r.Position, r.Rule, r.Plant, r.Supplier, r.Segment, r.Severity, r.Team, r.Assignee, r.CreatedBy).Scan(&r.ID, &r.CreatedAt)
	if err != nil {
		return fmt.Errorf("create routing rule: %w", err)
	}
	return nil
}

// DeleteRoutingRule deletes a tenant's routing rule.
func (s *ConsoleStore) DeleteRoutingRule(ctx context.Context, tenant string, id int64) error {
	tag, err := s.db.Pool.Exec(ctx, `DELETE FROM console_routing_rules WHERE tenant = $1 AND id = $2`, tenant, id)
	if err != nil {
		return fmt.Errorf("delete routing rule: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return procure.Errorf(procure.ENOTFOUND, "routing rule %d not found", id)
	}
	return nil
}

// Route sends an active, unassigned exception to the team of the first
// matching routing rule and to its assignee (the rule's, else the team's
// default); with no rule matching, to the default assignee of the team the
// rule engine named. The change is an activity entry by "routing".
func (s *ConsoleStore) Route(ctx context.Context, id int64, at time.Time) (bool, error) {
	changed := false
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		x, err := scanException(tx.QueryRow(ctx, `SELECT `+exceptionCols+` FROM exceptions WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil || x.Assignee != "" || !x.Active() {
			return err
		}
		var team, assignee string
		var ruleID pgtype.Int8
		segments := []string{}
		if s.Segments != nil && x.Supplier != "" {
			if segments, err = s.Segments(ctx, x.Tenant, x.Supplier); err != nil {
				return fmt.Errorf("route exception %d: %w", id, err)
			}
		}
		// A segment "S" matches a supplier in S, "!S" one outside it.
		err = tx.QueryRow(ctx, `SELECT r.id, r.team, coalesce(nullif(r.assignee, ''), t.default_assignee, '')
			FROM console_routing_rules r LEFT JOIN console_teams t ON t.tenant = r.tenant AND t.name = r.team
			WHERE r.tenant = $1 AND r.rule_id IN ('', $2) AND r.plant IN ('', $3) AND r.supplier IN ('', $4) AND r.severity IN ('', $5)
			  AND (r.segment = '' OR CASE WHEN left(r.segment, 1) = '!' THEN NOT (substr(r.segment, 2) = ANY($6::text[])) ELSE r.segment = ANY($6::text[]) END)
			ORDER BY r.position, r.id LIMIT 1`, x.Tenant, x.Rule, x.Plant, x.Supplier, x.Severity, segments).Scan(&ruleID, &team, &assignee)
		if errors.Is(err, pgx.ErrNoRows) {
			team = x.Team
			err = tx.QueryRow(ctx, `SELECT default_assignee FROM console_teams WHERE tenant = $1 AND name = $2`, x.Tenant, x.Team).Scan(&assignee)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
		}
		if err != nil {
			return err
		}
		if team == x.Team && assignee == "" {
			return nil
		}
		before := *x
		x.Team, x.Assignee = team, assignee
		note := fmt.Sprintf("to team %s", team)
		if assignee != "" {
			note += ", assignee " + assignee
		}
		if ruleID.Valid {
			note += fmt.Sprintf(" (routing rule %d)", ruleID.Int64)
		} else {
			note += " (team default)"
		}
		act := procure.Activity{At: at, Actor: procure.Actor{Kind: procure.ActorRule, Name: "routing"}, Action: "routed", Note: note}
		changed = true
		return writeException(ctx, tx, x, &before, []procure.Activity{act}, procure.OutboxUpdated, at)
	})
	return changed, err
}

// CreateRetry records a retry and sets its ID.
func (s *ConsoleStore) CreateRetry(ctx context.Context, r *procure.Retry) error {
	var xid pgtype.Int8
	if r.ExceptionID != 0 {
		xid = pgtype.Int8{Int64: r.ExceptionID, Valid: true}
	}
	err := s.db.Pool.QueryRow(ctx, `INSERT INTO console_retries (tenant, exception_id, message_id, target, topic, idempotency_key,
		requested_by, requested_at, status, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		r.Tenant, xid, r.MessageID, r.Target, r.Topic, r.IdempotencyKey, r.RequestedBy, r.RequestedAt, r.Status, r.Error).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("create retry: %w", err)
	}
	return nil
}

// FindRetries returns the retries of one exception (exceptionID > 0) or the
// latest of the scope, newest first. Automatic retries (requested by the
// retry policy before any exception existed) belong to the exceptions
// about their message.
func (s *ConsoleStore) FindRetries(ctx context.Context, sc procure.Scope, exceptionID int64, limit int) ([]*procure.Retry, error) {
	var q query
	q.scopeExceptions(sc)
	var from string
	if exceptionID > 0 {
		q.add("e.id = $?", exceptionID)
		from = ` FROM exceptions e JOIN console_retries r ON r.exception_id = e.id
			OR (r.exception_id IS NULL AND r.tenant = e.tenant AND e.subject LIKE 'message/%' AND r.message_id = substr(e.subject, 9))`
	} else {
		from = ` FROM console_retries r JOIN LATERAL (
			(SELECT x.* FROM exceptions x WHERE x.id = r.exception_id)
			UNION ALL
			(SELECT x.* FROM exceptions x WHERE r.exception_id IS NULL AND x.tenant = r.tenant AND x.subject = 'message/' || r.message_id
			 ORDER BY x.id LIMIT 1)
			LIMIT 1) e ON true`
	}
	rows, err := s.db.Pool.Query(ctx, `SELECT r.id, r.tenant, e.id, r.message_id, r.target, r.topic, r.idempotency_key,
		r.requested_by, r.requested_at, r.status, r.error, r.outcome_at`+from+q.clause()+fmt.Sprintf(` ORDER BY r.id DESC LIMIT %d`, max(limit, 1)), q.args...)
	if err != nil {
		return nil, fmt.Errorf("find retries: %w", err)
	}
	out := []*procure.Retry{}
	var r procure.Retry
	var outcome pgtype.Timestamptz
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.Tenant, &r.ExceptionID, &r.MessageID, &r.Target, &r.Topic, &r.IdempotencyKey,
		&r.RequestedBy, &r.RequestedAt, &r.Status, &r.Error, &outcome}, func() error {
		c := r
		c.OutcomeAt = outcome.Time
		out = append(out, &c)
		return nil
	})
	return out, err
}

// UpdateRetry records a retry's outcome.
func (s *ConsoleStore) UpdateRetry(ctx context.Context, id int64, status, errMsg string, at time.Time) error {
	_, err := s.db.Pool.Exec(ctx, `UPDATE console_retries SET status = $2, error = $3, outcome_at = $4 WHERE id = $1`, id, status, errMsg, at)
	if err != nil {
		return fmt.Errorf("update retry %d: %w", id, err)
	}
	return nil
}
