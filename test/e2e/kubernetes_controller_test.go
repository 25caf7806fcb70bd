package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The live controller needs an API server, which cannot be built here;
// its behaviour is tested with fake clientsets in
// internal/kubernetes/controller and cmd/gatehouse. These tests cover the
// binary's edges: bad credentials, and an unreachable API server.

// TestKubernetesModeNoCluster: without usable credentials run
// --kubernetes exits 1 with the reason; with an API server that does not
// answer it keeps trying, is not ready (nothing served yet), and still
// stops promptly and cleanly on SIGTERM.
func TestKubernetesModeNoCluster(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "no-kubeconfig")
	code, _, stderr := runCommand(t, "run", "--kubernetes", "--kubeconfig", missing)
	if code != 1 || !strings.Contains(stderr, "no-kubeconfig") {
		t.Fatalf("missing kubeconfig: exit %d, stderr %q", code, stderr)
	}

	// A kubeconfig for a loopback port nothing listens on.
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:%d"}}]
users: [{name: u, user: {}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, freePort(t))), 0o600)
	admin := freeAddr(t)
	base := filepath.Join(dir, "base.yaml")
	os.WriteFile(base, []byte(adminTail(admin)), 0o644)

	g := &gw{t: t, cfgPath: base, admin: admin, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	g.cmd = exec.Command(gatehouseBin, "run", "--kubernetes", "--kubeconfig", kubeconfig, "-c", base, "--lease-namespace", "test")
	g.cmd.Stdout, g.cmd.Stderr = g.stdout, g.stderr
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		g.cmd.Wait()
		g.exit = g.cmd.ProcessState.ExitCode()
		close(g.done)
	}()
	t.Cleanup(g.cleanup)
	if !g.waitLog("kubernetes controller started", 15*time.Second) {
		t.Fatalf("no start message:\n%s", g.logs())
	}
	if !g.waitLog("Gateway API not served", 15*time.Second) {
		t.Errorf("discovery failure not logged:\n%s", tail(g.logs(), 2000))
	}
	if err := g.waitReady(200 * time.Millisecond); err == nil {
		t.Error("ready without a cluster")
	}
	if code := g.stop(); code != 0 {
		t.Errorf("exit %d after SIGTERM\n%s", code, tail(g.logs(), 2000))
	}
}
