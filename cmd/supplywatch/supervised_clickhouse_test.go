package main

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/supplywatch/supplywatch/chdb"
)

// supervisedClickHouse starts an embedded ClickHouse of the test's own and
// starts it again, on the same data directory and ports, if the engine dies
// while the test runs. The embedded engine (not a ClickHouse server) can
// abort when a client it is serving is killed in the middle of an INSERT
// into a table with materialized views (docs/reliability.md, about 1 run in
// 50 of the roles test); a restart keeps the test about what it proves: the
// roles' own loss, duplication and recovery. Every restart is logged, and
// restarts() says how many there were. The database is created empty.
type supervisedClickHouse struct {
	t        *testing.T
	cfg      chdb.Config
	mu       sync.Mutex
	srv      *chdb.Server
	restarts int
	stopping chan struct{}
	stopped  chan struct{}
}

func startSupervisedClickHouse(t *testing.T, database string) (*supervisedClickHouse, driver.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	s := &supervisedClickHouse{t: t, cfg: chdb.Config{Dir: t.TempDir()}, stopping: make(chan struct{}), stopped: make(chan struct{})}
	srv, err := chdb.Start(ctx, s.cfg)
	if err != nil {
		t.Fatalf("embedded ClickHouse: %v", err)
	}
	s.srv = srv
	// Restarts keep the address the roles were configured with.
	_, tcp, _ := net.SplitHostPort(srv.NativeAddr())
	_, http, _ := net.SplitHostPort(srv.HTTPAddr())
	s.cfg.TCPPort, _ = strconv.Atoi(tcp)
	s.cfg.HTTPPort, _ = strconv.Atoi(http)
	go s.watch()
	t.Cleanup(s.stop)

	admin, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.NativeAddr()}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Exec(ctx, "CREATE DATABASE "+database); err != nil {
		t.Fatalf("create database: %v", err)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.NativeAddr()}, Auth: clickhouse.Auth{Database: database}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return s, conn, srv.NativeAddr()
}

func (s *supervisedClickHouse) watch() {
	defer close(s.stopped)
	for {
		s.mu.Lock()
		srv := s.srv
		s.mu.Unlock()
		select {
		case <-s.stopping:
			return
		case <-srv.Done():
		}
		select {
		case <-s.stopping:
			return
		default:
		}
		s.t.Logf("embedded ClickHouse died (%v); starting it again on the same data directory and ports", srv.Err())
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			next, err := chdb.Start(ctx, s.cfg)
			cancel()
			if err == nil {
				s.mu.Lock()
				s.srv, s.restarts = next, s.restarts+1
				s.mu.Unlock()
				break
			}
			if attempt == 5 {
				s.t.Errorf("embedded ClickHouse did not start again: %v", err)
				return
			}
			select {
			case <-s.stopping:
				return
			case <-time.After(time.Second):
			}
		}
	}
}

func (s *supervisedClickHouse) restartCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

func (s *supervisedClickHouse) stop() {
	close(s.stopping)
	<-s.stopped
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = srv.Stop(ctx)
}
