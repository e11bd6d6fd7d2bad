package chdb

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// pin identifies one npm package version holding libchdb.so and the integrity
// its tarball must have. Only one is used in production; tests pin a fake one.
type pin struct {
	Name      string // npm package name, e.g. "@chdb/lib-linux-x64-gnu"
	Version   string
	Integrity string // npm "sha512-<base64>" of the tarball
	Member    string // path of the library inside the tarball
}

// libchdb is the engine version DESIGN.md prescribes.
var libchdb = pin{
	Name:      "@chdb/lib-linux-x64-gnu",
	Version:   "26.7.3-stable.1",
	Integrity: "sha512-XP97mMqnc5tZpKQywR8N7cLTsHNiTmHr30pC5mzo3jWmukjKn2IBa60c2B/gWUNcuFjOMjWoorQICCqBVj5wpw==",
	Member:    "package/libchdb.so",
}

const defaultRegistry = "https://registry.npmjs.org/"

// DefaultCacheDir is where Fetch keeps the library when given no directory:
// $SUPPLYWATCH_CACHE/chdb, else $XDG_CACHE_HOME/supplywatch/chdb, else
// ~/.cache/supplywatch/chdb. It is outside the repository on purpose: the
// library is 566 MB.
func DefaultCacheDir() (string, error) {
	if d := os.Getenv("SUPPLYWATCH_CACHE"); d != "" {
		return filepath.Join(d, "chdb"), nil
	}
	d, err := os.UserCacheDir() // honours XDG_CACHE_HOME
	if err != nil {
		return "", fmt.Errorf("chdb cache dir: %w", err)
	}
	return filepath.Join(d, "supplywatch", "chdb"), nil
}

// Fetch makes sure the pinned libchdb.so is in cacheDir (DefaultCacheDir if
// empty) and returns its path. A fresh machine downloads the npm tarball
// (178 MB) once; later calls only stat two files.
//
// The tarball is checked against the pinned sha512 integrity before anything
// is extracted from it. A marker file then records the size and mtime of the
// extracted library, so the costly check is not repeated at every start; a
// library whose size or mtime changed is extracted again. Concurrent callers,
// in one process or several, serialise on a lock file in cacheDir, and every
// file appears by rename, so nobody ever sees a partial library.
func Fetch(ctx context.Context, cacheDir string, logger *slog.Logger) (string, error) {
	return fetch(ctx, cacheDir, libchdb, "", logger)
}

// fetch is Fetch for any pin; registry overrides the configured npm registry.
func fetch(ctx context.Context, cacheDir string, p pin, registry string, logger *slog.Logger) (string, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cacheDir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return "", err
		}
		cacheDir = d
	}
	base := strings.TrimPrefix(strings.ReplaceAll(p.Name, "/", "-"), "@") + "-" + p.Version
	lib := filepath.Join(cacheDir, base+".so")
	marker := lib + ".ok"
	tgz := filepath.Join(cacheDir, base+".tgz")

	if markerMatches(marker, lib) {
		return lib, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("chdb cache dir: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(cacheDir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if markerMatches(marker, lib) { // another process finished while we waited
		return lib, nil
	}

	start := time.Now()
	if err := verifyFile(tgz, p.Integrity); err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			logger.Warn("chdb: cached tarball is unusable, downloading again", "path", tgz, "err", err)
		}
		if registry == "" {
			registry = npmRegistry(ctx)
		}
		logger.Info("chdb: downloading engine library", "package", p.Name+"@"+p.Version, "registry", registry)
		if err := download(ctx, registry, p, tgz); err != nil {
			return "", err
		}
	}
	if err := extract(tgz, p.Member, lib); err != nil {
		return "", err
	}
	if err := writeMarker(marker, lib); err != nil {
		return "", err
	}
	logger.Info("chdb: engine library ready", "path", lib, "took", time.Since(start).Round(time.Millisecond))
	return lib, nil
}

// npmRegistry asks npm for the registry so .npmrc and npm_config_registry are
// honoured exactly as npm would; without npm it reads the environment. We GET
// from the registry ourselves rather than `npm pack`: it streams straight into
// the cache with the hash computed on the way, and machines without Node can
// still fetch.
func npmRegistry(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "npm", "config", "get", "registry").Output(); err == nil {
		if r := strings.TrimSpace(string(out)); strings.HasPrefix(r, "http") {
			return r
		}
	}
	for _, k := range []string{"npm_config_registry", "NPM_CONFIG_REGISTRY"} {
		if r := os.Getenv(k); r != "" {
			return r
		}
	}
	return defaultRegistry
}

// download resolves the tarball URL from the registry's version document (a
// mirror may serve tarballs from elsewhere) and saves the verified tarball
// at dst.
func download(ctx context.Context, registry string, p pin, dst string) error {
	metaURL := strings.TrimSuffix(registry, "/") + "/" + url.PathEscape(p.Name) + "/" + p.Version
	var meta struct {
		Dist struct {
			Tarball   string `json:"tarball"`
			Integrity string `json:"integrity"`
		} `json:"dist"`
	}
	body, err := get(ctx, metaURL, time.Minute)
	if err != nil {
		return err
	}
	err = json.NewDecoder(io.LimitReader(body, 1<<20)).Decode(&meta)
	body.Close()
	if err != nil {
		return fmt.Errorf("npm metadata %s: %w", metaURL, err)
	}
	if meta.Dist.Integrity != p.Integrity {
		return fmt.Errorf("npm metadata %s: integrity %q, want pinned %q", metaURL, meta.Dist.Integrity, p.Integrity)
	}

	body, err = get(ctx, meta.Dist.Tarball, 30*time.Minute)
	if err != nil {
		return err
	}
	defer body.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp-*")
	if err != nil {
		return fmt.Errorf("download %s: %w", meta.Dist.Tarball, err)
	}
	defer os.Remove(tmp.Name()) // after the rename this is a no-op
	h := sha512.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("download %s: %w", meta.Dist.Tarball, err)
	}
	if got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil)); got != p.Integrity {
		return fmt.Errorf("download %s: integrity %s, want %s", meta.Dist.Tarball, got, p.Integrity)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("download %s: %w", meta.Dist.Tarball, err)
	}
	return nil
}

// get returns the body of a successful GET; the caller closes it.
func get(ctx context.Context, u string, timeout time.Duration) (io.ReadCloser, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("get %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("get %s: %s", u, resp.Status)
	}
	return cancelOnClose{resp.Body, cancel}, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error { err := c.ReadCloser.Close(); c.cancel(); return err }

// verifyFile checks path against an npm integrity string.
func verifyFile(path, integrity string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha512.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	if got := "sha512-" + base64.StdEncoding.EncodeToString(h.Sum(nil)); got != integrity {
		return fmt.Errorf("verify %s: integrity %s, want %s", path, got, integrity)
	}
	return nil
}

// extract copies member out of the gzipped tarball to dst, atomically.
func extract(tgz, member, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return fmt.Errorf("extract %s: %w", tgz, err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("extract %s: %w", tgz, err)
	}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return fmt.Errorf("extract %s: no %s in tarball", tgz, member)
		}
		if err != nil {
			return fmt.Errorf("extract %s: %w", tgz, err)
		}
		if hdr.Name != member || hdr.Typeflag != tar.TypeReg {
			continue
		}
		tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp-*")
		if err != nil {
			return fmt.Errorf("extract %s: %w", tgz, err)
		}
		defer os.Remove(tmp.Name())
		_, err = io.Copy(tmp, tr)
		if err == nil {
			err = tmp.Chmod(0o755)
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), dst)
		}
		if err != nil {
			return fmt.Errorf("extract %s from %s: %w", member, tgz, err)
		}
		return nil
	}
}

// marker is what we remember about a library extracted from a verified tarball.
type marker struct {
	Size    int64     `json:"size"`
	ModTime time.Time `json:"mtime"`
}

func writeMarker(path, lib string) error {
	fi, err := os.Stat(lib)
	if err != nil {
		return fmt.Errorf("chdb marker: %w", err)
	}
	b, _ := json.Marshal(marker{Size: fi.Size(), ModTime: fi.ModTime()})
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("chdb marker: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("chdb marker: %w", err)
	}
	return nil
}

func markerMatches(path, lib string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var m marker
	if json.Unmarshal(b, &m) != nil {
		return false
	}
	fi, err := os.Stat(lib)
	return err == nil && fi.Size() == m.Size && fi.ModTime().Equal(m.ModTime)
}

// lockFile takes an exclusive flock on path, polling so ctx can cancel the
// wait; the lock dies with the process, so a crashed fetch never blocks others.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("chdb cache lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("chdb cache lock %s: %w", path, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("chdb cache lock %s: %w", path, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
