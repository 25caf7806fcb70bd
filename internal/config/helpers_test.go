package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// setEnv replaces the environment lookup for one test. Tests using it must
// not run in parallel with each other.
func setEnv(t *testing.T, env map[string]string) {
	t.Helper()
	old := lookupEnv
	lookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	t.Cleanup(func() { lookupEnv = old })
}

// minimal is the smallest valid configuration; cases append to it.
const minimal = `listeners:
  - name: public
    address: 127.0.0.1:8080
`

// parseErrs parses src as "gatehouse.yaml" and returns the rendered errors,
// failing the test if there were none or they are not Errors.
func parseErrs(t *testing.T, src string) []string {
	t.Helper()
	_, err := Parse("gatehouse.yaml", []byte(src))
	if err == nil {
		t.Fatalf("Parse succeeded, want errors; input:\n%s", src)
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("error %T is not Errors: %v", err, err)
	}
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}

// wantErr asserts that parsing src reports want (one exact line) among its
// errors.
func wantErr(t *testing.T, src, want string) {
	t.Helper()
	got := parseErrs(t, src)
	for _, g := range got {
		if g == want {
			return
		}
	}
	t.Errorf("missing error\n want: %s\n got:  %s", want, strings.Join(got, "\n       "))
}

func mustParse(t *testing.T, src string) *Config {
	t.Helper()
	c, err := Parse("gatehouse.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\ninput:\n%s", err, src)
	}
	return c
}

// writeFiles creates files (name → content) under a new temp dir.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testCert returns absolute paths of the checked-in test certificate pair.
func testCert(t *testing.T) (cert, key string) {
	t.Helper()
	cert, err := filepath.Abs("testdata/certs/test.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, _ = filepath.Abs("testdata/certs/test.key")
	return cert, key
}
