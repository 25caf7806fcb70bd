package mtlsauth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
)

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

var serial int64

func newCA(t testing.TB, name string) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert, key}
}

// issue returns a client certificate signed by c.
func (c *ca) issue(t testing.TB, subject pkix.Name, dns, email []string, uri string) tls.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: subject, DNSNames: dns, EmailAddresses: email,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if uri != "" {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

var consumers = identity.Consumers{
	"alice": {Name: "alice", Groups: []string{"admins"}},
	"ci":    {Name: "ci"},
	"web":   {Name: "web"},
	"ops":   {Name: "ops"},
}

var aliceName = pkix.Name{CommonName: "alice", Organization: []string{"Example"}}

// server runs a TLS server whose handler reports what a makes of the request.
func server(t *testing.T, a *Authenticator, pool *x509.CertPool, mode tls.ClientAuthType) *httptest.Server {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Authenticate(r)
		var e *identity.Error
		switch {
		case err == identity.ErrNoCredentials:
			io.WriteString(w, "none")
		case errors.As(err, &e):
			fmt.Fprintf(w, "refused %d", e.Status)
		default:
			fmt.Fprintf(w, "%s|%s|%s", id.Method, id.Subject, id.Name())
		}
	}))
	srv.TLS = &tls.Config{ClientCAs: pool, ClientAuth: mode}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, srv *httptest.Server, cert *tls.Certificate) (string, error) {
	t.Helper()
	tr := srv.Client().Transport.(*http.Transport).Clone()
	if cert != nil {
		// Sent whatever CAs the server names as acceptable, so an
		// untrusted certificate really reaches the listener.
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(srv.URL)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b), nil
}

func TestOverTLS(t *testing.T) {
	trusted, other := newCA(t, "trusted"), newCA(t, "other")
	pool := x509.NewCertPool()
	pool.AddCert(trusted.cert)
	alice := trusted.issue(t, aliceName, nil, nil, "")
	stranger := trusted.issue(t, pkix.Name{CommonName: "stranger"}, nil, nil, "")
	forged := other.issue(t, aliceName, nil, nil, "") // same subject, untrusted issuer

	a, err := New(Config{Mappings: []Mapping{{Subject: "CN=alice,O=Example", Consumer: "alice"}}, Consumers: consumers})
	if err != nil {
		t.Fatal(err)
	}
	srv := server(t, a, pool, tls.VerifyClientCertIfGiven)
	for name, c := range map[string]struct {
		cert *tls.Certificate
		want string
	}{
		"no cert":  {nil, "none"},
		"mapped":   {&alice, "mtls|CN=alice,O=Example|alice"},
		"unmapped": {&stranger, "mtls|CN=stranger|CN=stranger"},
	} {
		got, err := get(t, srv, c.cert)
		if err != nil || got != c.want {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, c.want)
		}
	}
	// The listener refuses a certificate from another CA outright.
	if got, err := get(t, srv, &forged); err == nil {
		t.Errorf("certificate from another CA accepted: %q", got)
	}
	// A listener that requests but does not verify client certificates
	// has PeerCertificates but no VerifiedChains: the forged certificate
	// must not map.
	lax := server(t, a, nil, tls.RequestClientCert)
	if got, err := get(t, lax, &forged); err != nil || got != "none" {
		t.Errorf("unverified certificate: got %q, %v; want none", got, err)
	}
}

func verified(cert tls.Certificate) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert.Leaf}, VerifiedChains: [][]*x509.Certificate{{cert.Leaf}}}
	return r
}

func TestMappings(t *testing.T) {
	c := newCA(t, "ca")
	a, err := New(Config{Consumers: consumers, ForwardHeader: "x-client-dn", Mappings: []Mapping{
		{CommonName: "alice", Email: "ALICE@example.com", Consumer: "alice"}, // all set fields must match
		{URI: "spiffe://example.org/ci", Consumer: "ci"},
		{DNSName: "web.internal", Consumer: "web"},
		{CommonName: "alice", Consumer: "ops"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		cert tls.Certificate
		want string
	}{
		"cn and email": {c.issue(t, aliceName, nil, []string{"alice@EXAMPLE.com"}, ""), "alice"},
		"cn only":      {c.issue(t, aliceName, nil, nil, ""), "ops"},
		"uri":          {c.issue(t, pkix.Name{CommonName: "x"}, nil, nil, "spiffe://example.org/ci"), "ci"},
		"other uri":    {c.issue(t, pkix.Name{CommonName: "x"}, nil, nil, "spiffe://example.org/cd"), ""},
		"dns":          {c.issue(t, pkix.Name{CommonName: "y"}, []string{"a.internal", "WEB.internal"}, nil, ""), "web"},
	} {
		id, err := a.Authenticate(verified(tc.cert))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := id.Consumer; tc.want == "" && got != nil || tc.want != "" && (got == nil || got.Name != tc.want) {
			t.Errorf("%s: consumer %v, want %q", name, got, tc.want)
		}
		if id.Upstream.Get("X-Client-Dn") != id.Subject {
			t.Errorf("%s: forwarded %v", name, id.Upstream)
		}
	}
	id, _ := a.Authenticate(verified(c.issue(t, aliceName, nil, nil, "")))
	if strings.Join(id.Groups, ",") != "" || id.Consumer.Name != "ops" {
		t.Errorf("groups %v", id.Groups)
	}
	id, _ = a.Authenticate(verified(c.issue(t, aliceName, nil, []string{"alice@example.com"}, "")))
	if strings.Join(id.Groups, ",") != "admins" || cap(id.Groups) != len(id.Groups) {
		t.Errorf("groups %v", id.Groups)
	}
}

func TestRequireMapping(t *testing.T) {
	c := newCA(t, "ca")
	a, err := New(Config{Consumers: consumers, RequireMapping: true, Mappings: []Mapping{{CommonName: "alice", Consumer: "alice"}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = a.Authenticate(verified(c.issue(t, pkix.Name{CommonName: "bob"}, nil, nil, "")))
	var e *identity.Error
	if !errors.As(err, &e) || e.Status != 403 {
		t.Fatalf("err = %v, want 403", err)
	}
	if _, err := a.Authenticate(verified(c.issue(t, aliceName, nil, nil, ""))); err != nil {
		t.Fatal(err)
	}
	// PeerCertificates without a verified chain are no credentials.
	r := verified(c.issue(t, aliceName, nil, nil, ""))
	r.TLS.VerifiedChains = nil
	if _, err := a.Authenticate(r); err != identity.ErrNoCredentials {
		t.Fatalf("err = %v, want ErrNoCredentials", err)
	}
}

func TestHeaderSafe(t *testing.T) {
	if got := headerSafe("CN=a\r\nX: y"); got != "CN=a??X: y" {
		t.Errorf("got %q", got)
	}
}

func TestNewErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"empty mapping":    {Consumers: consumers, Mappings: []Mapping{{Consumer: "alice"}}},
		"unknown consumer": {Consumers: consumers, Mappings: []Mapping{{CommonName: "a", Consumer: "nope"}}},
		"require nothing":  {RequireMapping: true},
		"bad header":       {ForwardHeader: "X Dn"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	c := newCA(b, "ca")
	a, _ := New(Config{Consumers: consumers, Mappings: []Mapping{{Subject: "CN=alice,O=Example", Consumer: "alice"}}})
	r := verified(c.issue(b, aliceName, nil, nil, ""))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
