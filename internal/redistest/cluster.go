package redistest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterTimeout bounds redis-cli --cluster create and the wait for
// every node to report cluster_state:ok.
const clusterTimeout = 30 * time.Second

// Cluster is a running Redis Cluster of masters only, owned by one test.
type Cluster struct {
	// Addrs are the masters' "127.0.0.1:port" addresses, the seed list
	// for a go-redis ClusterClient (or UniversalClient with several
	// Addrs).
	Addrs []string
	// Nodes are the masters' servers, in Addrs order, for outage tests.
	Nodes []*Server
}

// StartCluster runs masters redis-server processes (at least 3, the
// least redis-cli accepts) in cluster mode, joins them with redis-cli
// --cluster create, and returns once every node reports cluster_state:ok
// and knows every other. The nodes are stopped in t.Cleanup. A missing
// redis-server or redis-cli skips the test, or fails it when RequireEnv
// is set, as in Start.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	server := lookPath(t, "redis-server")
	cli := lookPath(t, "redis-cli")
	if masters < 3 {
		t.Fatalf("redistest: StartCluster(%d): a cluster needs at least 3 masters", masters)
	}
	c := &Cluster{}
	for range masters {
		dir := t.TempDir()
		n := startServer(t, server, "", func() []string {
			// The bus port is chosen explicitly: the default, port+10000,
			// may be above 65535 or taken.
			bus, err := freePort()
			if err != nil {
				t.Fatalf("redistest: find a free cluster bus port: %v", err)
			}
			return []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
				"--cluster-node-timeout", "2000",
				"--cluster-port", strconv.Itoa(bus),
			}
		})
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	cmd := exec.CommandContext(ctx, cli, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, tailBytes(out.Bytes()))
	}
	if err := c.waitOK(ctx, masters); err != nil {
		t.Fatalf("redistest: cluster not ready: %v\nredis-cli output:\n%s", err, tailBytes(out.Bytes()))
	}
	return c
}

// waitOK polls CLUSTER INFO on every node until each reports
// cluster_state:ok with all nodes known, or ctx ends.
func (c *Cluster) waitOK(ctx context.Context, masters int) error {
	backoff := 5 * time.Millisecond
	for {
		err := c.checkOK(masters)
		if err == nil {
			return nil
		}
		// Poll: the check is the readiness test, the backoff only keeps
		// the loop from spinning.
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: last check: %v", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 100*time.Millisecond)
	}
}

// checkOK reports why the cluster is not ready yet, or nil.
func (c *Cluster) checkOK(masters int) error {
	for _, addr := range c.Addrs {
		r, err := do(addr, []string{"CLUSTER", "INFO"})
		if err != nil {
			return fmt.Errorf("%s: %w", addr, err)
		}
		info := clusterInfo(r[0])
		if info["cluster_state"] != "ok" {
			return fmt.Errorf("%s: cluster_state:%s", addr, info["cluster_state"])
		}
		if info["cluster_known_nodes"] != strconv.Itoa(masters) {
			return fmt.Errorf("%s: cluster_known_nodes:%s, want %d", addr, info["cluster_known_nodes"], masters)
		}
	}
	return nil
}

// clusterInfo parses CLUSTER INFO's "field:value" lines.
func clusterInfo(s string) map[string]string {
	m := make(map[string]string)
	for line := range strings.SplitSeq(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

// Client returns a client on the cluster built as the gateway builds one
// from a configuration with several addresses (redis.NewUniversalClient,
// which makes a ClusterClient, honouring context deadlines). It is
// closed in t.Cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	u := redis.NewUniversalClient(&redis.UniversalOptions{
		Addrs:                 c.Addrs,
		ContextTimeoutEnabled: true,
	})
	t.Cleanup(func() { _ = u.Close() })
	cc, ok := u.(*redis.ClusterClient)
	if !ok {
		t.Fatalf("redistest: NewUniversalClient with %d addrs made a %T, not a *redis.ClusterClient", len(c.Addrs), u)
	}
	return cc
}
