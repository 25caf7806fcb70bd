package translate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
)

// testCA makes a CA and returns it, its key and its PEM file.
func testCA(t *testing.T, dir, name string) (*x509.Certificate, *ecdsa.PrivateKey, string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	file := filepath.Join(dir, name+".pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return ca, k, file
}

// TestSubjectAltNames: with subject_alt_names the upstream certificate
// is accepted when it chains to ca_file and carries one of the names
// (DNS or URI), whatever server_name (only the SNI) says; it is refused
// for other names or another CA. Without them, server_name is checked.
func TestSubjectAltNames(t *testing.T) {
	dir := t.TempDir()
	ca, caKey, caFile := testCA(t, dir, "ca")
	_, _, otherCA := testCA(t, dir, "other")
	lk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	spiffe, _ := url.Parse("spiffe://cluster.local/ns/a/sa/backend")
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "backend"},
		DNSNames: []string{"backend.internal"}, URIs: []*url.URL{spiffe},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &lk.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: lk}}}
	srv.StartTLS()
	defer srv.Close()

	cases := []struct {
		name string
		tls  config.UpstreamTLS
		ok   bool
	}{
		{"dns san, other sni", config.UpstreamTLS{CAFile: caFile, ServerName: "abc.example.com", SubjectAltNames: []string{"backend.internal"}}, true},
		{"uri san among others", config.UpstreamTLS{CAFile: caFile, ServerName: "abc.example.com", SubjectAltNames: []string{"nope.internal", spiffe.String()}}, true},
		{"dns mismatch", config.UpstreamTLS{CAFile: caFile, ServerName: "backend.internal", SubjectAltNames: []string{"other.internal"}}, false},
		{"uri mismatch", config.UpstreamTLS{CAFile: caFile, SubjectAltNames: []string{"spiffe://cluster.local/ns/a/sa/other"}}, false},
		{"other ca", config.UpstreamTLS{CAFile: otherCA, SubjectAltNames: []string{"backend.internal"}}, false},
		{"no sans, server name checked", config.UpstreamTLS{CAFile: caFile, ServerName: "abc.example.com"}, false},
		{"no sans, server name ok", config.UpstreamTLS{CAFile: caFile, ServerName: "backend.internal"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf, err := UpstreamTLS(&config.Upstream{TLS: &c.tls})
			if err != nil {
				t.Fatal(err)
			}
			conn, err := tls.Dial("tcp", srv.Listener.Addr().String(), conf)
			if err == nil {
				conn.Close()
			}
			if (err == nil) != c.ok {
				t.Errorf("handshake error %v, want ok=%v", err, c.ok)
			}
		})
	}
	if NewTransportKey(&config.Upstream{TLS: &config.UpstreamTLS{SubjectAltNames: []string{"a"}}}) ==
		NewTransportKey(&config.Upstream{TLS: &config.UpstreamTLS{SubjectAltNames: []string{"b"}}}) {
		t.Error("transport key ignores subject_alt_names")
	}
}
