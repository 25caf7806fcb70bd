package kubernetes

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// selfSigned returns a PEM certificate and key for name.
func selfSigned(t *testing.T, name string) (string, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}))
}

// indentPEM renders PEM as a YAML block scalar body at the given indent.
func indentPEM(p, indent string) string {
	return "|\n" + indent + strings.ReplaceAll(strings.TrimSpace(p), "\n", "\n"+indent)
}

// load decodes a testdata file (after replacements) and fails on errors.
func load(t *testing.T, name string, repl ...string) []Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	data = []byte(strings.NewReplacer(repl...).Replace(string(data)))
	objs, err := Decode(name, data)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return objs
}

// parse writes the result's files, encodes its Config and runs
// Gatehouse's own loader on it: the translation must be valid config.
func parse(t *testing.T, res *Result) *config.Config {
	t.Helper()
	if err := res.WriteFiles(); err != nil {
		t.Fatal(err)
	}
	y, err := res.Encode()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(filepath.Join(t.TempDir(), "gatehouse.yaml"), y)
	if err != nil {
		t.Fatalf("config.Parse rejected the translation: %v\n%s", err, y)
	}
	return cfg
}

func findRoute(t *testing.T, c *config.Config, name string) *config.Route {
	t.Helper()
	for _, r := range c.Routes {
		if r.Name == name {
			return r
		}
	}
	t.Fatalf("route %q not found", name)
	return nil
}

func findUpstream(t *testing.T, c *config.Config, name string) *config.Upstream {
	t.Helper()
	for _, u := range c.Upstreams {
		if u.Name == name {
			return u
		}
	}
	t.Fatalf("upstream %q not found", name)
	return nil
}

// wantCond asserts one condition of one status entry.
func wantCond(t *testing.T, res *Result, kind, ns, name, section, typ, status, reason string) {
	t.Helper()
	s, ok := res.Find(kind, ns, name, section)
	if !ok {
		t.Errorf("no status for %s %s/%s %q; have %+v", kind, ns, name, section, res.Statuses)
		return
	}
	c, ok := s.Condition(typ)
	if !ok || c.Status != status || c.Reason != reason {
		t.Errorf("%s %s/%s %q: condition %s = %+v, want %s/%s", kind, ns, name, section, typ, c, status, reason)
	}
}
