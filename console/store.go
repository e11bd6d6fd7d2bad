package console

import (
	"github.com/supplywatch/supplywatch/procure"
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
