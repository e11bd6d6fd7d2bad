// Package chtest gives each test a ClickHouse database of its own.
//
// With SUPPLYWATCH_TEST_CLICKHOUSE=host:port set it uses that server (native
// protocol, user default without password). Otherwise the test process starts
// one embedded chdb server on first use, shared by all its tests, in a
// temporary directory on free loopback ports, and stops it when the tests are
// done; a package using it must call Main from its TestMain. A server that
// cannot be reached or started fails the test; it never skips.
//
// It leaves schemas and the clickhouse-go options of production code to the
// clickhouse adapter.
package chtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/supplywatch/supplywatch/chdb"
)

// EnvAddr names the variable pointing tests at an existing server.
const EnvAddr = "SUPPLYWATCH_TEST_CLICKHOUSE"

var shared struct {
	mainCalled bool

	once   sync.Once
	addr   string
	err    error
	server *chdb.Server
	dir    string
}

// Main is the body of a TestMain for packages using DB:
//
//	func TestMain(m *testing.M) { chtest.Main(m) }
//
// It lets the binary act as the engine child, runs the tests, stops the
// shared server if one was started, and exits with the tests' code.
func Main(m *testing.M) {
	chdb.MaybeRunChild()
	shared.mainCalled = true
	code := m.Run()
	if err := stop(); err != nil {
		fmt.Fprintln(os.Stderr, "chtest:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// DB returns a connection whose default database is a new, empty database
// t_<random>, that database's name, and the server's native address. The
// database is dropped and the connection closed when the test ends.
func DB(t testing.TB) (conn driver.Conn, database string, addr string) {
	t.Helper()
	addr, err := serverAddr()
	if err != nil {
		t.Fatalf("chtest: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("chtest: open %s: %v", addr, err)
	}
	defer admin.Close()
	database = "t_" + randomHex(8)
	if err := admin.Exec(ctx, "CREATE DATABASE "+database); err != nil {
		t.Fatalf("chtest: create database on %s: %v", addr, err)
	}

	conn, err = clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		Auth:        clickhouse.Auth{Database: database},
		DialTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("chtest: open %s: %v", addr, err)
	}
	t.Cleanup(func() {
		conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}})
		if err != nil {
			t.Errorf("chtest: drop %s: %v", database, err)
			return
		}
		defer admin.Close()
		if err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+database+" SYNC"); err != nil {
			t.Errorf("chtest: drop %s: %v", database, err)
		}
	})
	return conn, database, addr
}

// serverAddr returns the native address of the server the tests use,
// starting the embedded one on first call.
func serverAddr() (string, error) {
	if a := os.Getenv(EnvAddr); a != "" {
		return a, nil
	}
	if !shared.mainCalled {
		return "", fmt.Errorf("the embedded server needs TestMain to call chtest.Main (or set %s)", EnvAddr)
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "chtest-")
		if shared.err != nil {
			return
		}
		logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
		// Generous: the first run on a machine downloads 178 MB.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		shared.server, shared.err = chdb.Start(ctx, chdb.Config{Dir: shared.dir, Logger: logger})
		if shared.err != nil {
			shared.err = fmt.Errorf("start embedded clickhouse: %w", shared.err)
			return
		}
		shared.addr = shared.server.NativeAddr()
	})
	return shared.addr, shared.err
}

// stop stops the shared server and removes its directory.
func stop() error {
	if shared.dir == "" {
		return nil
	}
	defer os.RemoveAll(shared.dir)
	if shared.server == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := shared.server.Stop(ctx)
	if err != nil {
		// The engine's own log says why it died; the directory goes next.
		if b, rerr := os.ReadFile(filepath.Join(shared.dir, "clickhouse.log")); rerr == nil {
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				if strings.Contains(l, "<Fatal>") || strings.Contains(l, "<Error>") || strings.Contains(l, "Assertion") || strings.Contains(l, "terminate") {
					lines = append(lines, l)
				}
			}
			if len(lines) > 30 {
				lines = lines[len(lines)-30:]
			}
			err = fmt.Errorf("%w\nclickhouse.log (errors):\n%s", err, strings.Join(lines, "\n"))
		}
	}
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
