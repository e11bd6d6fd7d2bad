package intake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestWatchDirMovesProcessedFiles(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	samples := samplesDir(t)
	copyIn := func(src, dst string) {
		b, err := os.ReadFile(filepath.Join(samples, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	copyIn("x12-850-nodex12-1.edi", "present-at-start.edi") // found by the first scan
	cfg := DropDirConfig{Dir: dir, Acks: filepath.Join(dir, "acks"), Settle: 50 * time.Millisecond, Rescan: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newIntake(t, Deps{}).WatchDir(ctx, cfg) }()
	time.Sleep(100 * time.Millisecond)
	copyIn("bad-x12-850-gozer-1.edi", "gozer.edi")
	copyIn("x12-856-ediengine-1.edi", "upload.tmp") // still being uploaded: ignored
	want := []string{"done/present-at-start.edi", "failed/gozer.edi", "failed/gozer.edi.reason", "acks/gozer.edi.1.997", "acks/present-at-start.edi.1.997"}
	deadline := time.Now().Add(10 * time.Second)
	for _, w := range want {
		for {
			if _, err := os.Stat(filepath.Join(dir, w)); err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s did not appear", w)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	reason, _ := os.ReadFile(filepath.Join(dir, "failed", "gozer.edi.reason"))
	if !strings.Contains(string(reason), "count 33 does not match 21 segments") {
		t.Fatalf("reason: %s", reason)
	}
	if _, err := os.Stat(filepath.Join(dir, "upload.tmp")); err != nil {
		t.Fatal("temporary upload was touched")
	}
}

func TestDropDirConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  DropDirConfig
		ok   bool
	}{
		{"defaults filled", DropDirConfig{Dir: "/in"}, true},
		{"missing dir refused", DropDirConfig{}, false},
		{"done inside itself refused", DropDirConfig{Dir: "/in", Done: "/in/"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if tt.ok && (tt.cfg.Done != "/in/done" || tt.cfg.Settle != 2*time.Second) {
				t.Fatalf("%+v", tt.cfg)
			}
		})
	}
}

// waitFor waits until path exists.
func waitFor(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Lstat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWatchDirRefusesLinks: a symbolic link (to a secrets file outside the
// folder) and a hard link are moved to failed/ as they are, with a reason;
// the target's content reaches no store, dead letter or reason file.
func TestWatchDirRefusesLinks(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir, outside := t.TempDir(), t.TempDir()
	secretFile := filepath.Join(outside, "secrets.env")
	const secret = "DB_PASSWORD=hunter2-top-secret"
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	hard := filepath.Join(outside, "hard.edi")
	if err := os.WriteFile(hard, []byte("ISA*"+secret), 0o600); err != nil {
		t.Fatal(err)
	}
	var rec recorder
	cfg := DropDirConfig{Dir: dir, Settle: 50 * time.Millisecond, Rescan: 200 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newIntake(t, rec.deps()).WatchDir(ctx, cfg) }()
	if err := os.Symlink(secretFile, filepath.Join(dir, "link.edi")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(hard, filepath.Join(dir, "hard.edi")); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"failed/link.edi", "failed/link.edi.reason", "failed/hard.edi", "failed/hard.edi.reason"} {
		waitFor(t, filepath.Join(dir, w))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(dir, "failed", "link.edi")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link itself should be in failed/: %v %v", fi, err)
	}
	reason, _ := os.ReadFile(filepath.Join(dir, "failed", "link.edi.reason"))
	hardReason, _ := os.ReadFile(filepath.Join(dir, "failed", "hard.edi.reason"))
	if !strings.Contains(string(reason), "symbolic link is never followed") || !strings.Contains(string(hardReason), "2 hard links") {
		t.Fatalf("reasons: %s / %s", reason, hardReason)
	}
	all := append(rec.everything(), append(reason, hardReason...)...)
	if strings.Contains(string(all), "hunter2") || len(rec.raws) != 0 {
		t.Fatalf("the target was read: %d raw documents", len(rec.raws))
	}
	if b, _ := os.ReadFile(secretFile); string(b) != secret {
		t.Fatal("the target was changed")
	}
}

// TestReadRegularRefusesALinkSwappedIn: a name that was a regular file when
// listed but is a link when opened is not followed (O_NOFOLLOW).
func TestReadRegularRefusesALinkSwappedIn(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	b, err := readRegular(filepath.Join(dir, "link"), 1<<20)
	if !errors.Is(err, errNotRegular) || len(b) != 0 {
		t.Fatalf("read %q, err %v", b, err)
	}
	if b, err := readRegular(target, 1<<20); err != nil || string(b) != "secret" {
		t.Fatalf("regular file: %q %v", b, err)
	}
}

// TestWatchDirGivesUpAfterMaxAttempts: a file whose processing keeps
// failing (a dependency refusing it every time) is tried MaxAttempts times,
// then moved to failed/ with the last error; a file counted as read by a
// process that died (the counter at the limit) is not read again.
func TestWatchDirGivesUpAfterMaxAttempts(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	sample, err := os.ReadFile(filepath.Join(samplesDir(t), "x12-850-nodex12-1.edi"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	tries := map[string]int{}
	deps := Deps{RawStore: RawStoreFunc(func(_ context.Context, d RawDocument) error {
		mu.Lock()
		defer mu.Unlock()
		tries[d.OriginID]++
		return errors.New("message too large")
	})}
	cfg := DropDirConfig{Dir: dir, Settle: 20 * time.Millisecond, Rescan: 50 * time.Millisecond, MaxAttempts: 3}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	// a crash-looping input: the previous process counted 3 attempts and died
	if err := os.MkdirAll(cfg.State, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.State, "crash.edi.attempts"), []byte("3\n\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "crash.edi"), append([]byte("\n"), sample...), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "poison.edi"), sample, 0o640); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newIntake(t, deps).WatchDir(ctx, cfg) }()
	waitFor(t, filepath.Join(dir, "failed", "poison.edi.reason"))
	waitFor(t, filepath.Join(dir, "failed", "crash.edi.reason"))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	reason, _ := os.ReadFile(filepath.Join(dir, "failed", "poison.edi.reason"))
	if !strings.Contains(string(reason), "not processed after 3 attempts; last: origin") || !strings.Contains(string(reason), "message too large") {
		t.Fatalf("reason: %s", reason)
	}
	crash, _ := os.ReadFile(filepath.Join(dir, "failed", "crash.edi.reason"))
	if !strings.Contains(string(crash), "the process stopped while reading it") {
		t.Fatalf("crash reason: %s", crash)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tries) != 1 {
		t.Fatalf("stored %d distinct documents, want only poison.edi (crash.edi must not be read again)", len(tries))
	}
	for _, n := range tries {
		if n != 3 {
			t.Fatalf("tried %d times, want 3", n)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.State, "poison.edi.attempts")); !os.IsNotExist(err) {
		t.Fatal("attempt counter left behind")
	}
}
