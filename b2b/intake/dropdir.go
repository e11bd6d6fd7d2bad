package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DropDirConfig configures a watched landing directory (the inbox of an SFTP
// server). Files are processed once they stop changing; processed files move
// to Done, rejected ones to Failed with a <name>.reason file beside them;
// acknowledgements are written to Acks when it is set.
type DropDirConfig struct {
	Dir    string `yaml:"dir"`
	Done   string `yaml:"done"`   // default Dir/done
	Failed string `yaml:"failed"` // default Dir/failed
	Acks   string `yaml:"acks"`   // optional
	// Settle is how long a file must stay unchanged (size and modification
	// time) before it is read: uploads are written in place. Default 2s.
	Settle time.Duration `yaml:"settle"`
	// Rescan lists the directory periodically, for events the watcher
	// missed (network file systems, overflow, files present at start).
	// Default 30s.
	Rescan time.Duration `yaml:"rescan"`
	// MaxBytes refuses larger files (moved to Failed). Default 64 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxAttempts bounds how often a file is tried when a dependency fails
	// (or the process dies while reading it): beyond it, the file moves to
	// Failed with the last error. Attempts are counted in State, so a file
	// that kills the process is not read again and again. Default 5.
	MaxAttempts int `yaml:"max_attempts"`
	// State holds the attempt counters. Default Dir/.state.
	State string `yaml:"state"`
	// Tenant and Sources scope the folder like an ingest token (see Scope):
	// with Tenant set, only that tenant's partners are resolved. Empty:
	// the folder is shared by every tenant and the envelope decides.
	Tenant  string   `yaml:"tenant"`
	Sources []string `yaml:"sources"`
}

// Validate checks the configuration without I/O and fills the defaults.
func (c *DropDirConfig) Validate() error {
	if c.Dir == "" {
		return errors.New("drop dir: dir is required")
	}
	if c.Done == "" {
		c.Done = filepath.Join(c.Dir, "done")
	}
	if c.Failed == "" {
		c.Failed = filepath.Join(c.Dir, "failed")
	}
	if c.Settle <= 0 {
		c.Settle = 2 * time.Second
	}
	if c.Rescan <= 0 {
		c.Rescan = 30 * time.Second
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = 64 << 20
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 5
	}
	if c.State == "" {
		c.State = filepath.Join(c.Dir, ".state")
	}
	for _, d := range []string{c.Done, c.Failed, c.Acks, c.State} {
		if d != "" && filepath.Clean(d) == filepath.Clean(c.Dir) {
			return fmt.Errorf("drop dir: %s must differ from the watched directory", d)
		}
	}
	return nil
}

// ignored reports names that are not (yet) documents: hidden files and the
// temporary names upload clients write before renaming.
func ignored(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".filepart")
}

type pending struct {
	size    int64
	mod     time.Time
	changed time.Time
}

// WatchDir processes the files landing in cfg.Dir until ctx is done. It
// returns nil on cancellation, or the error that stopped it from watching.
// Files are processed one at a time; a dependency failure leaves the file in
// place to be retried at the next rescan.
func (in *Intake) WatchDir(ctx context.Context, cfg DropDirConfig) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	for _, d := range []string{cfg.Done, cfg.Failed, cfg.Acks, cfg.State} {
		if d != "" {
			if err := os.MkdirAll(d, 0o750); err != nil {
				return fmt.Errorf("drop dir: %w", err)
			}
		}
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("drop dir: %w", err)
	}
	defer w.Close()
	if err := w.Add(cfg.Dir); err != nil {
		return fmt.Errorf("drop dir %s: %w", cfg.Dir, err)
	}
	log := in.deps.Logger.With(slog.String("dir", cfg.Dir))
	seen := map[string]*pending{}
	note := func(name string) {
		if ignored(name) {
			return
		}
		if _, ok := seen[name]; !ok {
			seen[name] = &pending{}
		}
	}
	rescan := func() {
		entries, err := os.ReadDir(cfg.Dir)
		if err != nil {
			log.Warn("drop dir rescan", slog.Any("err", err))
			return
		}
		for _, e := range entries {
			if !e.IsDir() { // links and special files are noted to be refused
				note(e.Name())
			}
		}
	}
	rescan()
	settle := time.NewTicker(max(cfg.Settle/4, 10*time.Millisecond))
	defer settle.Stop()
	full := time.NewTicker(cfg.Rescan)
	defer full.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("drop dir: watcher closed")
			}
			if ev.Has(fsnotify.Create) || ev.Has(fsnotify.Write) {
				if filepath.Dir(ev.Name) == filepath.Clean(cfg.Dir) {
					note(filepath.Base(ev.Name))
				}
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("drop dir: watcher closed")
			}
			log.Warn("drop dir watcher", slog.Any("err", err)) // overflow: the rescan catches up
			rescan()
		case <-full.C:
			rescan()
		case <-settle.C:
			now := time.Now()
			for name, p := range seen {
				if ctx.Err() != nil {
					return nil
				}
				path := filepath.Join(cfg.Dir, name)
				fi, err := os.Lstat(path) // never follows a link
				if err != nil || fi.IsDir() {
					delete(seen, name)
					continue
				}
				if !fi.Mode().IsRegular() {
					delete(seen, name)
					if err := refuse(cfg, name, fi.Mode()); err != nil {
						log.Error("drop dir: refusing a file that is not regular", slog.String("file", name), slog.Any("err", err))
					} else {
						log.Warn("drop dir: refused a file that is not regular", slog.String("file", name), slog.String("mode", fi.Mode().String()))
					}
					continue
				}
				if fi.Size() != p.size || !fi.ModTime().Equal(p.mod) || p.changed.IsZero() {
					p.size, p.mod, p.changed = fi.Size(), fi.ModTime(), now
					continue
				}
				if now.Sub(p.changed) < cfg.Settle {
					continue
				}
				delete(seen, name)
				if err := in.processFile(ctx, cfg, name, fi.Size()); err != nil {
					log.Error("drop dir: file left for retry", slog.String("file", name), slog.Any("err", err))
				}
			}
		}
	}
}

// processFile runs one settled file through Process and moves it. It
// returns an error when the file is left for a later attempt.
func (in *Intake) processFile(ctx context.Context, cfg DropDirConfig, name string, size int64) error {
	path := filepath.Join(cfg.Dir, name)
	if size > cfg.MaxBytes {
		return moveWithReason(path, cfg.Failed, name, fmt.Sprintf("file of %d bytes exceeds the limit of %d\n", size, cfg.MaxBytes))
	}
	att := attempts{dir: cfg.State, name: name}
	n, last := att.read()
	if n >= cfg.MaxAttempts {
		if last == "" {
			last = "the process stopped while reading it"
		}
		if err := moveWithReason(path, cfg.Failed, name, fmt.Sprintf("not processed after %d attempts; last: %s\n", n, last)); err != nil {
			return err
		}
		att.clear()
		return nil
	}
	// counted (and synced) before reading, so that an input that kills the
	// process is given up after MaxAttempts restarts instead of crash-looping
	if err := att.write(n+1, ""); err != nil {
		return err
	}
	raw, err := readRegular(path, cfg.MaxBytes)
	if errors.Is(err, errNotRegular) {
		att.clear()
		return moveWithReason(path, cfg.Failed, name, err.Error()+"\n")
	}
	if err != nil {
		return err
	}
	r, err := in.ProcessAs(ctx, Scope{Tenant: cfg.Tenant, Sources: cfg.Sources}, raw, Auto)
	if err != nil {
		if ctx.Err() == nil {
			_ = att.write(n+1, err.Error())
		}
		return err // a dependency failed: tried again at a later rescan
	}
	if cfg.Acks != "" {
		for i, a := range r.Acks {
			ext := strings.ToLower(a.Kind)
			if a.Kind == "cXML" {
				ext = "response.xml"
			}
			an := fmt.Sprintf("%s.%d.%s", name, i+1, ext)
			if err := os.WriteFile(filepath.Join(cfg.Acks, an), a.Body, 0o640); err != nil {
				return fmt.Errorf("write acknowledgement %s: %w", an, err)
			}
		}
	}
	att.clear()
	if r.Status == Rejected {
		var b strings.Builder
		fmt.Fprintf(&b, "origin %s: %s\n", r.OriginID, r.Status)
		for _, p := range r.Rejections {
			b.WriteString(p.Error() + "\n")
		}
		return moveWithReason(path, cfg.Failed, name, b.String())
	}
	return move(path, cfg.Done, name)
}

var errNotRegular = errors.New("not a regular file")

// readRegular reads a regular file of at most max bytes. It opens the
// path without following a symbolic link (O_NOFOLLOW) and without blocking
// on a FIFO, then checks the open file itself: a link, a FIFO, a device or
// a file with other hard links (which could be another user's file linked
// into the folder) is refused with errNotRegular, and nothing of it is read.
func readRegular(path string, max int64) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, fmt.Errorf("%w: a symbolic link is never followed", errNotRegular)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: mode %s", errNotRegular, fi.Mode())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		return nil, fmt.Errorf("%w: it has %d hard links", errNotRegular, st.Nlink)
	}
	return io.ReadAll(io.LimitReader(f, max+1))
}

// refuse moves a file that is not regular (the link itself, never its
// target) to Failed with the reason.
func refuse(cfg DropDirConfig, name string, mode os.FileMode) error {
	what := "a special file (" + mode.String() + ")"
	if mode&os.ModeSymlink != 0 {
		what = "a symbolic link"
	}
	return moveWithReason(filepath.Join(cfg.Dir, name), cfg.Failed, name,
		fmt.Sprintf("%s: %s is never followed or read; upload regular files only\n", errNotRegular, what))
}

// attempts is the persistent attempt counter of one file: a line "n" and
// the last error.
type attempts struct{ dir, name string }

func (a attempts) path() string { return filepath.Join(a.dir, a.name+".attempts") }

func (a attempts) read() (int, string) {
	b, err := os.ReadFile(a.path())
	if err != nil {
		return 0, ""
	}
	first, rest, _ := strings.Cut(string(b), "\n")
	n, _ := strconv.Atoi(first)
	return n, strings.TrimSpace(rest)
}

func (a attempts) write(n int, last string) error {
	f, err := os.OpenFile(a.path(), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if len(last) > 4096 {
		last = last[:4096]
	}
	_, err = fmt.Fprintf(f, "%d\n%s\n", n, last)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

func (a attempts) clear() { _ = os.Remove(a.path()) }

// move renames path into dir, never overwriting an earlier file of the
// same name.
func move(path, dir, name string) error {
	dst := filepath.Join(dir, name)
	if _, err := os.Lstat(dst); err == nil {
		dst = filepath.Join(dir, fmt.Sprintf("%s.%d", name, time.Now().UnixNano()))
	}
	return os.Rename(path, dst)
}

func moveWithReason(path, dir, name, reason string) error {
	if err := os.WriteFile(filepath.Join(dir, name+".reason"), []byte(reason), 0o640); err != nil {
		return err
	}
	return move(path, dir, name)
}
