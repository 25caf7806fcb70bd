package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestListenerIsolationFileMode serves the conformance manifest of
// GatewayHTTPListenerIsolation (internal/kubernetes/testdata, port 80
// shifted with kubernetes.port_offset) with `gatehouse run -c DIR`: a
// request reaches only its most specific listener's route (which answers
// 500 here, its Service being absent), and the others answer 404.
func TestListenerIsolationFileMode(t *testing.T) {
	t.Parallel()
	manifest, err := os.ReadFile(filepath.Join(moduleRoot, "internal", "kubernetes", "testdata", "isolation.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	admin := freeAddr(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "isolation.yaml"), manifest, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("kubernetes: {listen_host: 127.0.0.1, port_offset: %d}\n", port-80) + adminTail(admin)
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	startGatewayFile(t, gatehouseBin, dir, admin)
	c := httpClient(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	own := map[string]string{
		"bar.com":             "/empty-hostname",
		"bar.example.com":     "/wildcard-example-com",
		"bar.foo.example.com": "/wildcard-foo-example-com",
		"abc.foo.example.com": "/abc-foo-example-com",
	}
	for host, ownPath := range own {
		for _, path := range own {
			want := 404
			if path == ownPath {
				want = 500
			}
			if resp, body := get(t, c, base+path, host); resp.StatusCode != want {
				t.Errorf("%s%s: %d %q, want %d", host, path, resp.StatusCode, body, want)
			}
		}
	}
}
