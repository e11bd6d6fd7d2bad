package migrate_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/supplywatch/supplywatch/internal/migrate"
)

type target struct {
	applied map[int]bool
	ran     []string
	failOn  int
}

func (t *target) Applied(context.Context) (map[int]bool, error) { return t.applied, nil }
func (t *target) Apply(_ context.Context, m migrate.Migration) error {
	if m.Version == t.failOn {
		return errors.New("boom")
	}
	t.ran = append(t.ran, m.Name)
	t.applied[m.Version] = true
	return nil
}

var files = fstest.MapFS{
	"m/0010_b.sql":   {Data: []byte("B")},
	"m/0002_a.sql":   {Data: []byte("A")},
	"m/0100_c.sql":   {Data: []byte("C")},
	"m/README.md":    {Data: []byte("not a migration")},
	"m/0200_d.sql":   {Data: []byte("D")},
	"bad/x_one.sql":  {Data: []byte("")},
	"dup/0001_a.sql": {Data: []byte("")},
	"dup/0001_b.sql": {Data: []byte("")},
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestRunAppliesWhatIsMissingInVersionOrderOnce(t *testing.T) {
	ms, err := migrate.Load(files, "m")
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{applied: map[int]bool{10: true}}
	n, err := migrate.Run(context.Background(), tg, ms, discard, "test")
	if err != nil || n != 3 {
		t.Fatalf("Run = %d, %v; want 3 applied", n, err)
	}
	if want := []string{"0002_a.sql", "0100_c.sql", "0200_d.sql"}; !slices.Equal(tg.ran, want) {
		t.Errorf("ran %v, want %v", tg.ran, want)
	}
	if n, err := migrate.Run(context.Background(), tg, ms, discard, "test"); err != nil || n != 0 {
		t.Errorf("second Run = %d, %v; want nothing to do", n, err)
	}
}

func TestRunStopsAtTheFirstFailure(t *testing.T) {
	ms, _ := migrate.Load(files, "m")
	tg := &target{applied: map[int]bool{}, failOn: 100}
	n, err := migrate.Run(context.Background(), tg, ms, discard, "test")
	if err == nil || !strings.Contains(err.Error(), "0100_c.sql") || n != 2 || tg.applied[200] {
		t.Fatalf("Run = %d, %v (applied %v); want a failure naming 0100_c.sql after 2, and 0200 not run", n, err, tg.applied)
	}
}

func TestLoadRefusesBadNamesAndDuplicateVersions(t *testing.T) {
	if _, err := migrate.Load(files, "bad"); err == nil || !strings.Contains(err.Error(), "x_one.sql") {
		t.Errorf("Load(bad) = %v, want an error naming the file", err)
	}
	if _, err := migrate.Load(files, "dup"); err == nil || !strings.Contains(err.Error(), "version 1") {
		t.Errorf("Load(dup) = %v, want a duplicate version error", err)
	}
}
