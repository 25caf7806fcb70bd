package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runValidate runs `gatehouse validate -c path` and returns its exit code,
// stdout and stderr.
func runValidate(t *testing.T, path string) (int, string, string) {
	t.Helper()
	return runCommand(t, "validate", "-c", path)
}

// runCommand runs the gatehouse binary with args to completion (30 s at
// most) and returns its exit code, stdout and stderr.
func runCommand(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(gatehouseBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("gatehouse %s: %v", args[0], err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("gatehouse %s did not finish in 30s", args[0])
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// TestValidateReportsTypoWithLine: a typo in a key is exit 1 with
// FILE:LINE: unknown key ... (did you mean ...?) at the typo's line; the
// quickstart validates with exit 0.
func TestValidateReportsTypoWithLine(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "typo.yaml")
	lines := []string{
		"listeners:",                      // 1
		"  - name: web",                   // 2
		"    address: 127.0.0.1:18080",    // 3
		"upstreams:",                      // 4
		"  - name: users",                 // 5
		"    targets:",                    // 6
		"      - url: http://127.0.0.1:9", // 7
		"routes:",                         // 8
		"  - name: users-api",             // 9
		"    match: {path: {prefix: /}}",  // 10
		"    backend:",                    // 11
		"      upstrem: users",            // 12 <- typo
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runValidate(t, path)
	out := stdout + stderr
	if code != 1 {
		t.Errorf("validate %s: exit %d, want 1\n%s", path, code, out)
	}
	wantPrefix := path + `:12: unknown key "upstrem"`
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, wantPrefix) {
			line = l
			break
		}
	}
	if line == "" {
		t.Fatalf("validate output has no line starting %q:\n%s", wantPrefix, out)
	}
	if !strings.HasSuffix(line, `(did you mean "upstream"?)`) {
		t.Errorf("validate error %q: want it to end with (did you mean \"upstream\"?)", line)
	}

	examples, _ := filepath.Glob(filepath.Join(moduleRoot, "examples", "*.yaml"))
	// Directories of examples (file mode) validate as a whole.
	examples = append(examples, filepath.Join(moduleRoot, "examples", "kubernetes"))
	// The benchmark configurations are examples too: compare.sh runs them
	// (but the JWT one reads a key bench/jwt-token.sh makes first).
	benches, _ := filepath.Glob(filepath.Join(moduleRoot, "bench", "*.yaml"))
	l4benches, _ := filepath.Glob(filepath.Join(moduleRoot, "bench", "l4", "*.yaml"))
	for _, b := range append(benches, l4benches...) {
		if filepath.Base(b) != "gatehouse-jwt.yaml" {
			examples = append(examples, b)
		}
	}
	if len(examples) < 2 {
		t.Fatalf("examples: %v", examples)
	}
	for _, ex := range examples {
		code, stdout, stderr = runValidate(t, ex)
		if code != 0 {
			t.Errorf("validate %s: exit %d, want 0\nstdout: %s\nstderr: %s", ex, code, stdout, stderr)
		}
		if !strings.Contains(stdout, "configuration is valid") {
			t.Errorf("validate %s: stdout %q, want \"configuration is valid\"", ex, stdout)
		}
	}
}

// TestQuickstart runs examples/quickstart.yaml unchanged on its fixed ports
// and checks X-Demo-Backend alternates a/b through the round-robin pool.
func TestQuickstart(t *testing.T) {
	for _, a := range []string{"127.0.0.1:8080", "127.0.0.1:9901", "127.0.0.1:9081", "127.0.0.1:9082"} {
		if !portFree(a) {
			t.Skipf("quickstart port %s is busy on this machine", a)
		}
	}
	// Run from a copy: the gateway watches its configuration's directory,
	// and the examples directory is not ours to watch or touch.
	src, err := os.ReadFile(filepath.Join(moduleRoot, "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "quickstart.yaml")
	if err := os.WriteFile(path, src, 0o644); err != nil {
		t.Fatal(err)
	}
	startGatewayFile(t, gatehouseBin, path, "127.0.0.1:9901")
	c := httpClient(t)

	var seq []string
	for i := 0; i < 8; i++ {
		resp, body := get(t, c, "http://127.0.0.1:8080/", "")
		if resp.StatusCode != 200 {
			t.Fatalf("GET / #%d: %d %q", i, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Served-By") != "gatehouse" {
			t.Errorf("GET / #%d: X-Served-By %q, want gatehouse", i, resp.Header.Get("X-Served-By"))
		}
		be := resp.Header.Get("X-Demo-Backend")
		if !strings.Contains(body, `"backend":"`+be+`"`) {
			t.Errorf("GET / #%d: X-Demo-Backend %q but body %q", i, be, body)
		}
		seq = append(seq, be)
	}
	for i, be := range seq {
		if be != "a" && be != "b" {
			t.Fatalf("X-Demo-Backend sequence %v: want only a and b", seq)
		}
		if i > 0 && be == seq[i-1] {
			t.Fatalf("X-Demo-Backend sequence %v: want strict alternation a/b", seq)
		}
	}
	t.Logf("X-Demo-Backend: %v", seq)

	resp, body := get(t, c, "http://127.0.0.1:8080/status", "")
	if resp.StatusCode != 200 || body != "gatehouse is up\n" {
		t.Errorf("GET /status: %d %q", resp.StatusCode, body)
	}
	resp, _ = get(t, c, "http://127.0.0.1:8080/old/docs", "")
	if resp.StatusCode != 301 || resp.Header.Get("Location") != "http://127.0.0.1:8080/" {
		t.Errorf("GET /old/docs: %d Location %q, want 301 http://127.0.0.1:8080/", resp.StatusCode, resp.Header.Get("Location"))
	}
}
