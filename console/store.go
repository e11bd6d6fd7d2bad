package console

import (
	"github.com/supplywatch/supplywatch/procure"
)

// The console's vocabulary is procure's (issue 10): these aliases keep the
// code written against console.X compiling for one session and are to be
// removed; new code names procure.X. See docs/architecture.md.

// Roles of console users (procure.Role*).
const (
	RoleProcurement = procure.RoleProcurement
	RolePlant       = procure.RolePlant
	RoleExecutive   = procure.RoleExecutive
	RoleOncall      = procure.RoleOncall
	RoleAdmin       = procure.RoleAdmin
	RoleSupplier    = procure.RoleSupplier
)

// UserRoles are the roles a user may have.
var UserRoles = procure.UserRoles

// Action kinds (procure.Act*).
const (
	ActAcknowledge = procure.ActAcknowledge
	ActAssign      = procure.ActAssign
	ActSnooze      = procure.ActSnooze
	ActResolve     = procure.ActResolve
	ActIgnore      = procure.ActIgnore
	ActReopen      = procure.ActReopen
)

// ActionKinds lists the action kinds.
var ActionKinds = procure.ActionKinds

// Retry statuses (procure.Retry*).
const (
	RetryPublished        = procure.RetryPublished
	RetryFailed           = procure.RetryFailed
	RetryDelivered        = procure.RetryDelivered
	RetryRedeliveryFailed = procure.RetryRedeliveryFailed
)

// Temporary aliases of procure's types (issue 10).
type (
	User              = procure.User
	Session           = procure.Session
	Token             = procure.Token
	Scope             = procure.Scope
	QueueFilter       = procure.QueueFilter
	Cursor            = procure.Cursor
	QueueItem         = procure.QueueItem
	Action            = procure.Action
	Team              = procure.Team
	RoutingRule       = procure.RoutingRule
	SavedView         = procure.SavedView
	Retry             = procure.Retry
	AuditEntry        = procure.AuditEntry
	GroupView         = procure.GroupView
	Document          = procure.Document
	CurrencyAmount    = procure.CurrencyAmount
	ValueAtRiskFilter = procure.ValueAtRiskFilter
	UserStore         = procure.UserStore
	QueueStore        = procure.QueueStore
	RoutingStore      = procure.RoutingStore
	ViewStore         = procure.ViewStore
	RetryStore        = procure.RetryStore
	AuditStore        = procure.AuditStore
	TimelineQuery     = procure.TimelineQuery
	TimelineEntry     = procure.TimelineEntry
	FailedDelivery    = procure.FailedDelivery
	DeliveryOutcome   = procure.DeliveryOutcome
	RejectedFilter    = procure.RejectedFilter
	Rejected          = procure.Rejected
)

// Store is everything the console keeps in its database
// (postgres.ConsoleStore).
type Store interface {
	procure.UserStore
	procure.QueueStore
	procure.RoutingStore
	procure.ViewStore
	procure.RetryStore
	procure.AuditStore
}
