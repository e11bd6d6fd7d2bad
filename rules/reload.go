package rules

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Reloader reloads the rule files of a directory into an Evaluator: on a
// file change, on SIGHUP and on Reload. A set that does not load is
// refused, logged, and the rules in force stay in force.
type Reloader struct {
	dir  string
	eval *Evaluator
	log  *slog.Logger
	now  func() time.Time

	mu       sync.Mutex
	lastErr  error
	required map[string]string // segment → who refers to it
}

// RequireSegments makes a reload refuse a set that does not define the
// segment names, which user (as "alerts.route") refers to.
func (r *Reloader) RequireSegments(user string, names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.required == nil {
		r.required = map[string]string{}
	}
	for _, n := range names {
		r.required[n] = user
	}
}

// NewReloader returns a Reloader of dir into eval.
func NewReloader(dir string, eval *Evaluator, log *slog.Logger, now func() time.Time) *Reloader {
	if now == nil {
		now = time.Now
	}
	return &Reloader{dir: dir, eval: eval, log: log, now: now}
}

// Reload loads the directory and puts the rules in force, or returns why
// it refused them (the rules in force stay). Safe for concurrent use.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	rs, err := LoadDir(r.dir, r.now())
	if err == nil {
		var missing []string
		for n, user := range r.required {
			if rs.Segment(n) == nil {
				missing = append(missing, fmt.Sprintf("segment %q is used by %s but no longer defined", n, user))
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			err = errors.New(strings.Join(missing, "; "))
		}
	}
	r.lastErr = err
	if err != nil {
		r.log.Error("rule files refused; the rules in force stay in force", "dir", r.dir, "err", err)
		return fmt.Errorf("rules %s refused: %w", r.dir, err)
	}
	r.eval.Set(rs)
	r.log.Info("rules loaded", "dir", r.dir, "rules", len(rs.Rules), "slas", len(rs.SLAs), "segments", len(rs.Segments))
	return nil
}

// LastError is the error of the last reload (nil when it succeeded).
func (r *Reloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// Run reloads on file changes in the directory and on SIGHUP until ctx is
// done. Bursts of changes (an editor saving) reload once.
func (r *Reloader) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("rules watch: %w", err)
	}
	defer w.Close()
	if err := w.Add(r.dir); err != nil {
		return fmt.Errorf("rules watch %s: %w", r.dir, err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	debounce := time.NewTimer(time.Hour)
	debounce.Stop()
	defer debounce.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-hup:
			r.Reload() //nolint:errcheck // logged
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			name := filepath.Base(ev.Name)
			if strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") {
				debounce.Reset(250 * time.Millisecond)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			r.log.Warn("rules watch", "err", err)
		case <-debounce.C:
			r.Reload() //nolint:errcheck // logged
		}
	}
}
