package chdb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeRegistry serves one package version the way registry.npmjs.org does
// and counts tarball downloads.
func fakeRegistry(t *testing.T, lib []byte) (p pin, url string, downloads *atomic.Int32) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range map[string][]byte{"package/package.json": []byte("{}"), "package/libfake.so": lib} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write(body)
	}
	tw.Close()
	zw.Close()
	tgz := buf.Bytes()
	sum := sha512.Sum512(tgz)
	p = pin{Name: "@fake/lib", Version: "1.0.0", Integrity: "sha512-" + base64.StdEncoding.EncodeToString(sum[:]), Member: "package/libfake.so"}

	downloads = new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.EscapedPath() {
		case "/@fake%2Flib/1.0.0":
			fmt.Fprintf(w, `{"dist":{"integrity":%q,"tarball":"http://%s/@fake/lib/-/lib-1.0.0.tgz"}}`, p.Integrity, r.Host)
		case "/@fake/lib/-/lib-1.0.0.tgz":
			downloads.Add(1)
			w.Write(tgz)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return p, srv.URL + "/", downloads
}

func TestFetchDownloadsOnceAndReusesCache(t *testing.T) {
	want := []byte("not really an ELF file")
	p, registry, downloads := fakeRegistry(t, want)
	dir := t.TempDir()
	ctx := context.Background()

	var wg sync.WaitGroup
	paths := make([]string, 4)
	errs := make([]error, 4)
	for i := range paths { // concurrent first fetches: one download, same result
		wg.Go(func() { paths[i], errs[i] = fetch(ctx, dir, p, registry, testLogger(t)) })
	}
	wg.Wait()
	for i := range paths {
		if errs[i] != nil {
			t.Fatalf("fetch %d: %v", i, errs[i])
		}
		if paths[i] != paths[0] {
			t.Fatalf("fetch %d returned %s, fetch 0 %s", i, paths[i], paths[0])
		}
	}
	if got, _ := os.ReadFile(paths[0]); !bytes.Equal(got, want) {
		t.Fatalf("library content %q, want %q", got, want)
	}
	if n := downloads.Load(); n != 1 {
		t.Fatalf("%d downloads, want 1", n)
	}

	// A library changed behind our back is extracted again from the cached
	// tarball, without a download.
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(paths[0], future, future); err != nil {
		t.Fatal(err)
	}
	if _, err := fetch(ctx, dir, p, registry, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	if n := downloads.Load(); n != 1 {
		t.Fatalf("%d downloads after re-extract, want 1", n)
	}
	if !markerMatches(paths[0]+".ok", paths[0]) {
		t.Fatal("marker does not match the re-extracted library")
	}
}

func TestFetchRejectsWrongIntegrity(t *testing.T) {
	p, registry, _ := fakeRegistry(t, []byte("lib"))
	p.Integrity = "sha512-" + base64.StdEncoding.EncodeToString(make([]byte, 64))
	dir := t.TempDir()
	_, err := fetch(context.Background(), dir, p, registry, nil)
	if err == nil || !strings.Contains(err.Error(), "integrity") {
		t.Fatalf("got %v, want an integrity error", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != ".lock" {
			t.Errorf("left %s in the cache after a failed fetch", e.Name())
		}
	}
}

func TestDefaultCacheDir(t *testing.T) {
	t.Setenv("SUPPLYWATCH_CACHE", "/c")
	if d, _ := DefaultCacheDir(); d != "/c/chdb" {
		t.Errorf("with SUPPLYWATCH_CACHE: %s", d)
	}
	t.Setenv("SUPPLYWATCH_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/x")
	if d, _ := DefaultCacheDir(); d != "/x/supplywatch/chdb" {
		t.Errorf("with XDG_CACHE_HOME: %s", d)
	}
}
