package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFile(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"conf/gatehouse.yaml":  minimal + "routes:\n  - name: r\n    respond: {body_file: pages/hello.txt}\n",
		"conf/pages/hello.txt": "hello\n",
	})
	path := filepath.Join(dir, "conf", "gatehouse.yaml")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	rs := c.Routes[0].Respond
	// body_file is relative to the YAML file, not the working directory.
	if rs.Body != "hello\n" || rs.BodyFile != filepath.Join(dir, "conf", "pages", "hello.txt") {
		t.Errorf("respond = %+v", rs)
	}
	if len(c.Files) != 1 || c.Files[0] != path {
		t.Errorf("Files = %v", c.Files)
	}
	if c.Listeners[0].Pos != (Pos{File: path, Line: 2}) {
		t.Errorf("Pos = %v", c.Listeners[0].Pos)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load("/nonexistent/gatehouse.yaml")
	var errs Errors
	if !errors.Is(err, fs.ErrNotExist) || errors.As(err, &errs) || !strings.Contains(err.Error(), "/nonexistent/gatehouse.yaml") {
		t.Errorf("err = %v, want a plain not-exist error naming the path", err)
	}
}

func TestLoadDirectoryMerge(t *testing.T) {
	cert, key := testCert(t)
	dir := writeFiles(t, map[string]string{
		"10-listeners.yaml": "listeners:\n  - {name: public, address: \"127.0.0.1:8080\"}\nlog: {level: debug}\n",
		"20-upstreams.yml":  "upstreams:\n  - name: users\n    targets: [{url: \"http://a:1\"}]\n    tls: {ca_file: ca.pem}\n",
		"30-routes.yaml":    "routes:\n  - {name: a, backend: {upstream: users}}\n",
		"31-routes.YAML":    "routes:\n  - {name: b, respond: {}}\n",
		"40-empty.yaml":     "# nothing here yet\n",
		"ca.pem":            mustRead(t, cert),
		"key.pem":           mustRead(t, key),
		"notes.txt":         "not: [config",
		".hidden.yaml":      "not: [config",
		"sub/nested.yaml":   "not: [config",
	})
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range c.Routes {
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "a,b" || len(c.Listeners) != 1 || len(c.Upstreams) != 1 || c.Log.Level != "debug" {
		t.Errorf("merged: routes=%v listeners=%d upstreams=%d level=%s", names, len(c.Listeners), len(c.Upstreams), c.Log.Level)
	}
	want := []string{"10-listeners.yaml", "20-upstreams.yml", "30-routes.yaml", "31-routes.YAML", "40-empty.yaml"}
	for i := range want {
		want[i] = filepath.Join(dir, want[i])
	}
	if strings.Join(c.Files, "\n") != strings.Join(want, "\n") {
		t.Errorf("Files = %v, want %v", c.Files, want)
	}
	if c.Upstreams[0].TLS.CAFile != filepath.Join(dir, "ca.pem") {
		t.Errorf("ca_file = %q", c.Upstreams[0].TLS.CAFile)
	}
	if c.Routes[1].Pos.File != filepath.Join(dir, "31-routes.YAML") {
		t.Errorf("route b pos = %v", c.Routes[1].Pos)
	}
}

func TestLoadDirectoryErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.yaml": "listeners:\n  - {name: public, address: \":1\"}\nlog: {level: debug}\nroutes:\n  - {name: r, backend: {upstream: users}}\n",
		"b.yaml": "log: {level: info}\nroutes:\n  - {name: r, respond: {}}\nupstreams: [{name: user, targets: [{url: \"http://a\"}]}]\n",
	})
	_, err := Load(dir)
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	want := []string{
		a + `:5: route "r": upstream "users" not found (did you mean "user"?)`,
		b + `:1: section log is defined twice (first defined at ` + a + `:3; a section may appear in only one file)`,
		b + `:3: route "r" is defined twice (first defined at ` + a + `:5; names must be unique)`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}

func TestLoadEmptyDirectory(t *testing.T) {
	dir := writeFiles(t, map[string]string{"README.md": "x"})
	_, err := Load(dir)
	var errs Errors
	if !errors.As(err, &errs) || err.Error() != dir+": directory contains no *.yaml or *.yml files (add a configuration file or point at a file instead)" {
		t.Errorf("err = %v", err)
	}
}

func TestLoadSymlinkedFiles(t *testing.T) {
	// Kubernetes ConfigMap volumes: gatehouse.yaml -> ..data/gatehouse.yaml.
	dir := writeFiles(t, map[string]string{"..data/gatehouse.yaml": minimal})
	if err := os.Symlink(filepath.Join("..data", "gatehouse.yaml"), filepath.Join(dir, "gatehouse.yaml")); err != nil {
		t.Skip("symlinks unsupported:", err)
	}
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Files) != 1 || c.Files[0] != filepath.Join(dir, "gatehouse.yaml") {
		t.Errorf("Files = %v", c.Files)
	}
}

func TestLoadRejectsHugeAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(big)
	if err == nil || err.Error() != big+": file is larger than 8 MiB" {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat("/dev/zero"); err == nil {
		_, err := Load("/dev/zero")
		if err == nil || err.Error() != "/dev/zero: file is not a regular file (point at a regular file)" {
			t.Errorf("err = %v", err)
		}
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
