package chdb

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Environment of the child process; the parent sets these, nobody else should.
const (
	envChild = "SUPPLYWATCH_CHDB_CHILD" // "1" turns the process into the engine host
	envLib   = "SUPPLYWATCH_CHDB_LIB"   // path of libchdb.so
	envHTTP  = "SUPPLYWATCH_CHDB_HTTP"  // host:port of its own HTTP interface, to stop the engine
)

// keepaliveID is the query_id of the long-running query that keeps the
// listeners open; killing it is how the child stops the engine.
const keepaliveID = "supplywatch-keepalive"

// engineShutdownGrace is how long the child lets the engine shut down in
// order after its query is killed; it must stay below the engine's 5s.
const engineShutdownGrace = time.Second

// MaybeRunChild turns the process into the chDB engine host when it was started
// by Start, and never returns in that case. Otherwise it returns at once.
//
// Call it first in every main() and every TestMain whose process may call
// Start (directly or through chtest), before flags are parsed: Start re-executes
// the current binary with the engine's arguments.
func MaybeRunChild() {
	if os.Getenv(envChild) != "1" {
		return
	}
	os.Exit(runChild(os.Getenv(envLib), os.Getenv(envHTTP), os.Args[1:]))
}

// runChild runs the engine until SIGTERM/SIGINT and returns the exit code.
// Everything it prints goes to the log file the parent gave as stdout/stderr.
func runChild(libPath, httpAddr string, args []string) int {
	lib, err := purego.Dlopen(libPath, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chdb child: dlopen %s: %v\n", libPath, err)
		return 1
	}
	// chdb_result *chdb_query_cmdline(int argc, char **argv)
	var queryCmdline func(argc int32, argv **byte) uintptr
	purego.RegisterLibFunc(&queryCmdline, lib, "chdb_query_cmdline")
	// void chdb_set_signal_handlers_enabled(int enabled)
	var setSignalHandlers func(enabled int32)
	purego.RegisterLibFunc(&setSignalHandlers, lib, "chdb_set_signal_handlers_enabled")

	// chDB's crash handlers sleep for minutes before re-raising, which would
	// turn an engine crash into a hung Start. Switching them off also resets
	// the Go runtime's own handlers to SIG_DFL, so save and restore those.
	saved := saveSigactions()
	setSignalHandlers(0)
	restoreSigactions(saved)

	stopping := make(chan struct{})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-sig
		close(stopping)
		fmt.Fprintln(os.Stderr, "chdb child: stopping")
		if err := killKeepalive(httpAddr); err != nil {
			fmt.Fprintf(os.Stderr, "chdb child: %v; exiting without engine shutdown\n", err)
			os.Exit(1)
		}
		// Once the query is gone the engine closes its listeners and waits
		// for open client connections (an idle HTTP keep-alive is enough)
		// for shutdown_wait_unfinished, 5s, and then _exit(1)s. Do not wait
		// that long: acknowledged inserts are already on disk, and MergeTree
		// is safe against an exit at any point.
		time.Sleep(engineShutdownGrace)
		fmt.Fprintf(os.Stderr, "chdb child: engine still shutting down after %s (open client connections?), exiting\n", engineShutdownGrace)
		os.Exit(0)
	}()

	argv := make([]*byte, len(args)+1) // NULL-terminated like main's argv
	for i, a := range args {
		b := append([]byte(a), 0)
		argv[i] = &b[0]
	}
	queryCmdline(int32(len(args)), &argv[0])
	runtime.KeepAlive(argv)
	// The keepalive query never ends on its own, and the engine reports its
	// errors on stderr (the returned result carries none), so any return
	// before a stop was requested is a failure.
	select {
	case <-stopping:
		fmt.Fprintln(os.Stderr, "chdb child: stopped")
		return 0
	default:
		fmt.Fprintln(os.Stderr, "chdb child: engine exited on its own")
		return 1
	}
}

// killKeepalive ends the keepalive query through the engine's HTTP interface,
// which lets chdb_query_cmdline return and the engine shut down in order.
func killKeepalive(httpAddr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	q := "KILL QUERY WHERE query_id = '" + keepaliveID + "' SYNC FORMAT Null"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+httpAddr+"/", strings.NewReader(q))
	if err != nil {
		return fmt.Errorf("kill keepalive query: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("kill keepalive query: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kill keepalive query: %s", resp.Status)
	}
	return nil
}

// The signals chdb_set_signal_handlers_enabled(0) resets to SIG_DFL.
var deadlySignals = []syscall.Signal{
	syscall.SIGABRT, syscall.SIGSEGV, syscall.SIGILL, syscall.SIGBUS,
	syscall.SIGSYS, syscall.SIGFPE, syscall.SIGTSTP, syscall.SIGTRAP,
}

// sigaction is the kernel's struct for rt_sigaction on linux/amd64.
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

func saveSigactions() []sigaction {
	saved := make([]sigaction, len(deadlySignals))
	for i, s := range deadlySignals {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s), 0, uintptr(unsafe.Pointer(&saved[i])), 8, 0, 0)
	}
	return saved
}

func restoreSigactions(saved []sigaction) {
	for i, s := range deadlySignals {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(s), uintptr(unsafe.Pointer(&saved[i])), 0, 8, 0, 0)
	}
}
