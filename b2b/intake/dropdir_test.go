package intake

import (
	"context"
	"os"
	"path/filepath"
	"strings"
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
