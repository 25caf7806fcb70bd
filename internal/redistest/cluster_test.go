package redistest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStartClusterIsReady(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	if len(c.Addrs) != 3 || len(c.Nodes) != 3 {
		t.Fatalf("Addrs = %v, Nodes = %d", c.Addrs, len(c.Nodes))
	}
	seen := map[string]bool{}
	for i, addr := range c.Addrs {
		if seen[addr] || c.Nodes[i].Addr != addr {
			t.Fatalf("node %d: addr %s (Nodes: %s), seen before: %v", i, addr, c.Nodes[i].Addr, seen[addr])
		}
		seen[addr] = true
		r, err := do(addr, []string{"CLUSTER", "INFO"})
		if err != nil {
			t.Fatal(err)
		}
		info := clusterInfo(r[0])
		if info["cluster_state"] != "ok" || info["cluster_slots_assigned"] != "16384" || info["cluster_size"] != "3" {
			t.Fatalf("%s: state=%s slots=%s size=%s", addr, info["cluster_state"], info["cluster_slots_assigned"], info["cluster_size"])
		}
	}
	// Every master owns slots: a key lands on exactly one of them, and
	// the others redirect.
	var owners, moved int
	for _, addr := range c.Addrs {
		_, err := do(addr, []string{"SET", "k", "v"})
		switch {
		case err == nil:
			owners++
		case strings.Contains(err.Error(), "MOVED"):
			moved++
		default:
			t.Fatalf("SET on %s: %v", addr, err)
		}
	}
	if owners != 1 || moved != 2 {
		t.Fatalf("SET k: %d owners, %d MOVED, want 1 and 2", owners, moved)
	}
}

func TestStartWithPassword(t *testing.T) {
	t.Parallel()
	s := StartWithPassword(t, "s3cret with spaces")
	if err := ping(s.Addr); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("PING without AUTH: %v, want NOAUTH", err)
	}
	if err := pingAuth(s.Addr, "wrong"); err == nil {
		t.Fatal("AUTH with a wrong password accepted")
	}
	if err := pingAuth(s.Addr, s.Password); err != nil {
		t.Fatalf("PING with the password: %v", err)
	}
	s.Restart() // keeps the password
	if err := ping(s.Addr); err == nil {
		t.Fatal("PING without AUTH accepted after Restart")
	}
	if err := pingAuth(s.Addr, s.Password); err != nil {
		t.Fatalf("PING with the password after Restart: %v", err)
	}
}

func runFake(tb *fakeTB, start func(testing.TB)) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fakeStop); !ok {
				panic(r)
			}
		}
	}()
	start(tb)
}

// TestClusterMissingBinaries: StartCluster needs redis-server and
// redis-cli; either missing skips, or fails under RequireEnv.
func TestClusterMissingBinaries(t *testing.T) {
	server, err := os.Executable() // any file: it is never run
	if err != nil {
		t.Fatal(err)
	}
	onlyServer := t.TempDir()
	if err := os.Symlink(server, filepath.Join(onlyServer, "redis-server")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		start   func(testing.TB)
		needCLI bool
	}{
		{"StartCluster", func(tb testing.TB) { StartCluster(tb, 3) }, true},
		{"StartWithPassword", func(tb testing.TB) { StartWithPassword(tb, "x") }, false},
	}
	for _, path := range []string{t.TempDir(), onlyServer} {
		t.Setenv("PATH", path)
		for _, c := range cases {
			if path == onlyServer && !c.needCLI {
				continue
			}
			t.Setenv(RequireEnv, "")
			tb := &fakeTB{TB: t}
			runFake(tb, c.start)
			if !tb.skipped || tb.failed {
				t.Fatalf("%s, PATH=%s, without %s: skipped=%v failed=%v, want skip", c.name, path, RequireEnv, tb.skipped, tb.failed)
			}
			t.Setenv(RequireEnv, "1")
			tb = &fakeTB{TB: t}
			runFake(tb, c.start)
			if tb.skipped || !tb.failed {
				t.Fatalf("%s, PATH=%s, with %s=1: skipped=%v failed=%v, want fail", c.name, path, RequireEnv, tb.skipped, tb.failed)
			}
		}
	}
}
