// Package clustertest starts a sharded ClickHouse cluster of embedded
// servers for tests: n chdb processes, each with a server configuration file
// naming all of them in remote_servers (one shard each, one replica) and its
// own {shard} and {replica} macros.
//
// The embedded engine has no Keeper: the cluster can shard (Distributed
// tables) but not replicate, and ON CLUSTER does not run on it. Tests of the
// cluster schema use it with clickhouse.Config.Replicated false; the
// replicated form is only parsed (clickhouse/cluster_test.go).
package clustertest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/supplywatch/supplywatch/chdb"
)

// Name is the cluster's name in remote_servers.
const Name = "supplywatch"

// Cluster is a running cluster of embedded servers, one shard each.
type Cluster struct {
	// Addrs are the servers' native addresses, shard 1 first.
	Addrs   []string
	servers []*chdb.Server
}

// Start starts shards embedded servers as one cluster and stops them when
// the test ends. The package's TestMain must call chdb.MaybeRunChild (or
// chtest.Main) first.
func Start(t testing.TB, shards int) *Cluster {
	t.Helper()
	ports := freePorts(t, 2*shards)
	dir := t.TempDir()
	c := &Cluster{}
	for i := range shards {
		c.Addrs = append(c.Addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2*i])))
	}
	configs := make([]string, shards)
	for i := range shards {
		configs[i] = filepath.Join(dir, fmt.Sprintf("shard%d.xml", i+1))
		if err := os.WriteFile(configs[i], []byte(serverConfig(ports, i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Started side by side: each start takes seconds.
	c.servers = make([]*chdb.Server, shards)
	errs := make([]error, shards)
	var wg sync.WaitGroup
	for i := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute) // a first run downloads the engine
			defer cancel()
			c.servers[i], errs[i] = chdb.Start(ctx, chdb.Config{
				Dir:        filepath.Join(dir, fmt.Sprintf("shard%d", i+1)),
				TCPPort:    ports[2*i],
				HTTPPort:   ports[2*i+1],
				ConfigFile: configs[i],
				Logger:     slog.New(slog.DiscardHandler),
			})
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for i, s := range c.servers {
			if s == nil {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.Stop(ctx); err != nil {
				t.Errorf("clustertest: stop shard %d: %v", i+1, err)
			}
			cancel()
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("clustertest: start shard %d: %v", i+1, err)
		}
	}
	return c
}

// serverConfig is the configuration file of server i of the cluster whose
// servers listen on the native ports ports[0], ports[2], …
func serverConfig(ports []int, i int) string {
	var shards strings.Builder
	for s := 0; s < len(ports)/2; s++ {
		fmt.Fprintf(&shards, `
      <shard>
        <replica><host>127.0.0.1</host><port>%d</port></replica>
      </shard>`, ports[2*s])
	}
	return fmt.Sprintf(`<clickhouse>
  <remote_servers>
    <%[1]s>%[2]s
    </%[1]s>
  </remote_servers>
  <macros>
    <shard>%[3]d</shard>
    <replica>shard%[3]d</replica>
  </macros>
  <!-- Inserts through a Distributed table may be sent in the background. -->
  <background_distributed_schedule_pool_size>4</background_distributed_schedule_pool_size>
</clickhouse>
`, Name, shards.String(), i+1)
}

// freePorts returns n loopback ports free at the time of the call.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}
