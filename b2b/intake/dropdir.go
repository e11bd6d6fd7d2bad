package intake

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
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
	for _, d := range []string{c.Done, c.Failed, c.Acks} {
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
	for _, d := range []string{cfg.Done, cfg.Failed, cfg.Acks} {
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
			if e.Type().IsRegular() {
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
				fi, err := os.Stat(path)
				if err != nil || !fi.Mode().IsRegular() {
					delete(seen, name)
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

// processFile runs one settled file through Process and moves it.
func (in *Intake) processFile(ctx context.Context, cfg DropDirConfig, name string, size int64) error {
	path := filepath.Join(cfg.Dir, name)
	if size > cfg.MaxBytes {
		return moveWithReason(path, cfg.Failed, name, fmt.Sprintf("file of %d bytes exceeds the limit of %d\n", size, cfg.MaxBytes))
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(f, cfg.MaxBytes+1))
	f.Close()
	if err != nil {
		return err
	}
	r, err := in.Process(ctx, raw, Auto)
	if err != nil {
		return err // a dependency failed: retry later
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
