package app

import (
	"os"
	"runtime/debug"

	"github.com/gin-gonic/gin"
)

// ConfigureProcess makes the process-wide settings of a supplywatch
// binary: the Go runtime's soft memory limit (and with it a higher GOGC)
// unless GOMEMLIMIT is set, and gin's release mode. main calls it once
// before Start; Start never changes process-wide state, so tests and tools
// that embed the app keep their own.
func ConfigureProcess(cfg Config) {
	gin.SetMode(gin.ReleaseMode)
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(cfg.MemoryLimitMB << 20)
	// With a limit in place, a higher GOGC trades the spare memory below it
	// for fewer collections (the collector allocates per event).
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
}
