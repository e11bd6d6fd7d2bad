package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Cluster runs schema statements on the cluster of clickhouse.cluster the
// way the migrations do: written for a single server, rewritten for the
// cluster (clusterRewriter), then run ON CLUSTER through the one
// connection (replicated) or on every server of the cluster in turn
// (unreplicated: no Keeper, so no distributed DDL). Queries and inserts do
// not need it: they go through the Distributed tables under the plain
// names.
//
// The KPI refresher uses it for the tables it makes and swaps at run time.
type Cluster struct {
	cfg  Config
	conn driver.Conn // the pool of everything else; ON CLUSTER goes through it
	rw   *clusterRewriter
	// servers are the cluster's servers from system.clusters, in shard
	// and replica order, each with a connection of its own once used.
	mu      sync.Mutex
	servers []clusterServer
}

type clusterServer struct {
	shard, replica uint32
	addr           string
	conn           driver.Conn
}

// OpenCluster looks up cfg.Cluster's servers in system.clusters (of the
// server conn is connected to). It connects to a server, with cfg's
// credentials and TLS, when a statement is first run on it (a replicated
// cluster's DDL goes ON CLUSTER through conn and needs none of them).
// Close closes those connections, not conn.
func OpenCluster(ctx context.Context, conn driver.Conn, cfg Config) (*Cluster, error) {
	if cfg.Cluster == "" {
		return nil, errors.New("clickhouse.cluster: is not set")
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	rw, err := newClusterRewriter(cfg.Cluster, cfg.Database, cfg.replicated(), ms)
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, conn: conn, rw: rw}
	rows, err := conn.Query(ctx, "SELECT shard_num, replica_num, host_address, port FROM system.clusters WHERE cluster = ? ORDER BY shard_num, replica_num", cfg.Cluster)
	if err != nil {
		return nil, fmt.Errorf("clickhouse.cluster: read system.clusters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s clusterServer
		var host string
		var port uint16
		if err := rows.Scan(&s.shard, &s.replica, &host, &port); err != nil {
			return nil, err
		}
		s.addr = net.JoinHostPort(host, strconv.Itoa(int(port)))
		c.servers = append(c.servers, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(c.servers) == 0 {
		return nil, fmt.Errorf("clickhouse.cluster: %q is not a cluster of the server's remote_servers (system.clusters)", cfg.Cluster)
	}
	return c, nil
}

// server returns server i and its connection, connecting on first use.
func (c *Cluster) server(ctx context.Context, i int) (clusterServer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := &c.servers[i]
	if s.conn == nil {
		one := c.cfg
		one.Addr = []string{s.addr}
		conn, err := Open(ctx, one)
		if err != nil {
			return *s, fmt.Errorf("clickhouse.cluster %s: shard %d replica %d: %w", c.cfg.Cluster, s.shard, s.replica, err)
		}
		s.conn = conn
	}
	return *s, nil
}

// eachServer runs fn on every server of the cluster in turn.
func (c *Cluster) eachServer(ctx context.Context, fn func(ctx context.Context, conn driver.Conn) error) error {
	for i := range c.servers {
		s, err := c.server(ctx, i)
		if err != nil {
			return err
		}
		if err := fn(ctx, s.conn); err != nil {
			return fmt.Errorf("shard %d replica %d (%s): %w", s.shard, s.replica, s.addr, err)
		}
	}
	return nil
}

// Close closes the connections to the servers.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.servers {
		if c.servers[i].conn != nil {
			c.servers[i].conn.Close()
			c.servers[i].conn = nil
		}
	}
}

// Name is the cluster's name (for cluster() and clusterAllReplicas()).
func (c *Cluster) Name() string { return c.cfg.Cluster }

// LocalTable is the name of the shard-local table under the Distributed
// table name.
func (c *Cluster) LocalTable(name string) string { return name + LocalSuffix }

// DDL runs a schema statement written for a single server ("{db}." before
// table names, as in the migration files) on the cluster: CREATE TABLE …
// AS a table of the migrations makes a shard-local table and a
// Distributed one over it, ALTER TABLE, TRUNCATE and DROP act on the
// shard-local tables.
func (c *Cluster) DDL(ctx context.Context, stmt string) error {
	stmts, err := c.rw.Rewrite(stmt)
	if err != nil {
		return err
	}
	for _, s := range stmts {
		if err := c.exec(ctx, strings.ReplaceAll(s, "{db}", c.cfg.Database)); err != nil {
			return err
		}
	}
	return nil
}

// exec runs one rewritten statement: an INSERT once, through the
// Distributed tables; DDL once ON CLUSTER, or on every server when
// unreplicated.
func (c *Cluster) exec(ctx context.Context, stmt string) error {
	if c.rw.replicated || isDML(stmt) {
		return execStatement(ctx, c.conn, stmt)
	}
	return c.eachServer(ctx, func(ctx context.Context, conn driver.Conn) error { return execStatement(ctx, conn, stmt) })
}

// OnShards runs fn on one server of each shard, in shard order, with a
// connection to it (its shard-local tables are its share of the data).
// On a replicated cluster that server first catches up with the
// replication log of the shard-local tables named in tables, which fn
// reads.
func (c *Cluster) OnShards(ctx context.Context, tables []string, fn func(ctx context.Context, conn driver.Conn) error) error {
	for i := range c.servers {
		if i > 0 && c.servers[i-1].shard == c.servers[i].shard {
			continue
		}
		s, err := c.server(ctx, i)
		if err != nil {
			return err
		}
		if c.rw.replicated {
			for _, t := range tables {
				if err := s.conn.Exec(ctx, "SYSTEM SYNC REPLICA "+c.cfg.Database+"."+t); err != nil {
					return fmt.Errorf("shard %d (%s): sync %s: %w", s.shard, s.addr, t, err)
				}
			}
		}
		if err := fn(ctx, s.conn); err != nil {
			return fmt.Errorf("shard %d (%s): %w", s.shard, s.addr, err)
		}
	}
	return nil
}

// isDML reports whether a statement reads or writes rows rather than
// changing the schema.
func isDML(stmt string) bool {
	f := strings.Fields(stmt)
	if len(f) == 0 {
		return false
	}
	switch strings.ToUpper(f[0]) {
	case "INSERT", "SELECT", "WITH":
		return true
	}
	return false
}
