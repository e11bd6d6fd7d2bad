package procure

import (
	"context"
	"encoding/json"
	"time"
)

// AuditEntry is one change: who, what, when, from where.
type AuditEntry struct {
	ID         int64           `json:"id"`
	At         time.Time       `json:"at"`
	Tenant     string          `json:"tenant"`
	Actor      string          `json:"actor"`
	ActorKind  string          `json:"actor_kind"`
	Action     string          `json:"action"`
	Target     string          `json:"target"`
	Detail     json.RawMessage `json:"detail"`
	RemoteAddr string          `json:"remote_addr"`
	UserAgent  string          `json:"user_agent"`
}

// AuditStore is the audit log.
type AuditStore interface {
	Audit(ctx context.Context, e *AuditEntry) error
	FindAudit(ctx context.Context, tenant string, limit int) ([]*AuditEntry, error)
}
