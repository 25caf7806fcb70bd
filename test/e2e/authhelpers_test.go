package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Helpers of the identity tests (auth_test.go), which the edge, traffic
// and disconnect tests use too. Every name but oneUpstream starts with
// "auth" so the files of other test areas cannot collide with them.

// authAdminToken protects the admin API of the gateways these tests run.
const authAdminToken = "e2e-admin-token-0123456789abcdef"

// authAdminTail is the harness's adminTail with authAdminToken.
func authAdminTail(admin string) string {
	return adminTail(admin) + "  token: " + authAdminToken + "\n"
}

// authStart writes yaml plus an admin section with authAdminToken to a
// fresh directory and runs the gateway on it. The harness's startGateway
// cannot be used: its admin section has no token.
func authStart(t *testing.T, yaml string) *gw {
	t.Helper()
	admin := freeAddr(t)
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(path, []byte(yaml+authAdminTail(admin)), 0o600); err != nil {
		t.Fatal(err)
	}
	return startGatewayFile(t, gatehouseBin, path, admin)
}

// authRewrite is g.rewrite for a gateway started by authStart: it keeps
// the admin token.
func authRewrite(t *testing.T, g *gw, yaml string) {
	t.Helper()
	tmp := g.cfgPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(yaml+authAdminTail(g.admin)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, g.cfgPath); err != nil {
		t.Fatal(err)
	}
}

// oneUpstream is the YAML of a plain HTTP listener "web" at addr and an
// upstream "be" with the one target url, followed by format (routes and
// anything else) formatted with args.
func oneUpstream(addr, url, format string, args ...any) string {
	return fmt.Sprintf("listeners:\n  - {name: web, address: \"%s\"}\nupstreams:\n  - {name: be, targets: [{url: \"%s\"}]}\n", addr, url) +
		fmt.Sprintf(format, args...)
}

// authRestart stops g with SIGTERM, failing unless it exits 0, and starts
// a new gateway process on its configuration file (and so on its
// data_dir).
func authRestart(t *testing.T, g *gw) *gw {
	t.Helper()
	if code := g.stop(); code != 0 {
		t.Fatalf("gateway exited with %d on SIGTERM", code)
	}
	return startGatewayFile(t, gatehouseBin, g.cfgPath, g.admin)
}

// authSHA256 is the hex SHA-256 of s, what a consumer's key_hash holds.
func authSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// authEcho decodes the echo backend's answer, failing unless it is a 200.
func authEcho(t *testing.T, what string, resp *http.Response, body string) echoReply {
	t.Helper()
	var rep echoReply
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: got %d %s, want 200 from the backend", what, resp.StatusCode, strings.TrimSpace(body))
	}
	if err := json.Unmarshal([]byte(body), &rep); err != nil || rep.Backend == "" {
		t.Fatalf("%s: 200 but not the backend's echo (%v): %s", what, err, body)
	}
	return rep
}

// authWantProblem checks a refusal: the status and an RFC 9457 body.
func authWantProblem(t *testing.T, what string, resp *http.Response, body string, status int) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: got %d %s, want %d", what, resp.StatusCode, strings.TrimSpace(body), status)
		return
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
		return
	}
	var p struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != status {
		t.Errorf("%s: problem body %q does not carry status %d (%v)", what, body, status, err)
	}
}

// authWantHeader checks that the backend received exactly one value of
// name, equal to want ("" meaning the header must be absent).
func authWantHeader(t *testing.T, what string, rep echoReply, name, want string) {
	t.Helper()
	got := rep.Header.Values(name)
	switch {
	case want == "" && len(got) > 0:
		t.Errorf("%s: the backend received %s: %q, want none", what, name, got)
	case want != "" && (len(got) != 1 || got[0] != want):
		t.Errorf("%s: the backend received %s: %q, want exactly [%q]", what, name, got, want)
	}
}

// authAdmin calls the admin API with the given bearer token ("" for none).
func authAdmin(t *testing.T, c *http.Client, g *gw, method, path, token string) (*http.Response, string) {
	t.Helper()
	return authAdminBody(t, c, g, method, path, token, "")
}

// authAdminBody is authAdmin with a request body ("" for none).
func authAdminBody(t *testing.T, c *http.Client, g *gw, method, path, token, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+g.admin+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("admin %s %s: %v", method, path, err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("admin %s %s: reading body: %v", method, path, err)
	}
	return resp, string(b)
}

// authIssuedKey is the admin API's answer to a key issuance.
type authIssuedKey struct {
	ID       string `json:"id"`
	Consumer string `json:"consumer"`
	Prefix   string `json:"prefix"`
	Key      string `json:"key"`
}

// authIssueKey issues a key for consumer through g's admin API.
func authIssueKey(t *testing.T, c *http.Client, g *gw, consumer string) authIssuedKey {
	t.Helper()
	resp, body := authAdmin(t, c, g, "POST", "/consumers/"+consumer+"/keys", authAdminToken)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("issuing a key for %s: got %d %s, want 201", consumer, resp.StatusCode, body)
	}
	var k authIssuedKey
	if err := json.Unmarshal([]byte(body), &k); err != nil || k.ID == "" || k.Key == "" || k.Consumer != consumer {
		t.Fatalf("issuing a key for %s: unexpected answer %s (%v)", consumer, body, err)
	}
	return k
}

// authRevokeKey revokes a key through g's admin API, expecting 204.
func authRevokeKey(t *testing.T, c *http.Client, g *gw, k authIssuedKey) {
	t.Helper()
	resp, body := authAdmin(t, c, g, "DELETE", "/consumers/"+k.Consumer+"/keys/"+k.ID, authAdminToken)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoking key %s: got %d %s, want 204", k.ID, resp.StatusCode, body)
	}
}

// ---------------------------------------------------------------------------
// JWT

// authRSAKey generates an RSA signing key (2048 bits: JWK libraries refuse
// smaller ones).
func authRSAKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// authECKey generates a P-256 signing key.
func authECKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// authSign signs claims with method and key, setting the kid header when
// kid is not empty.
func authSign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("signing a %s token: %v", method.Alg(), err)
	}
	return s
}

// authJWK is one public key to publish in a JWKS.
type authJWK struct {
	kid string
	alg string
	pub any // *rsa.PublicKey or *ecdsa.PublicKey
}

func (k authJWK) json() map[string]string {
	b64 := base64.RawURLEncoding.EncodeToString
	m := map[string]string{"kid": k.kid, "use": "sig", "alg": k.alg}
	switch pub := k.pub.(type) {
	case *rsa.PublicKey:
		m["kty"] = "RSA"
		m["n"] = b64(pub.N.Bytes())
		m["e"] = b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		ecdh, err := pub.ECDH()
		if err != nil {
			panic(err)
		}
		raw := ecdh.Bytes() // 0x04 || X || Y, each 32 bytes for P-256
		m["kty"] = "EC"
		m["crv"] = "P-256"
		m["x"] = b64(raw[1:33])
		m["y"] = b64(raw[33:65])
	default:
		panic("authJWK: unsupported key type")
	}
	return m
}

// authJWKS is an identity provider's JWKS endpoint that counts fetches.
type authJWKS struct {
	srv     *httptest.Server
	url     string
	fetches atomic.Int64

	mu   sync.Mutex
	doc  []byte
	last time.Time // when the last fetch arrived
}

func newAuthJWKS(t *testing.T) *authJWKS {
	t.Helper()
	j := &authJWKS{doc: []byte(`{"keys":[]}`)}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		doc := j.doc
		j.last = time.Now()
		j.mu.Unlock()
		j.fetches.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(doc)
	}))
	j.url = j.srv.URL + "/.well-known/jwks.json"
	t.Cleanup(j.srv.Close)
	return j
}

// publish replaces the published keys.
func (j *authJWKS) publish(keys ...authJWK) {
	var doc struct {
		Keys []map[string]string `json:"keys"`
	}
	for _, k := range keys {
		doc.Keys = append(doc.Keys, k.json())
	}
	b, _ := json.Marshal(doc)
	j.mu.Lock()
	j.doc = b
	j.mu.Unlock()
}

// lastFetch is when the gateway last fetched the JWKS.
func (j *authJWKS) lastFetch() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.last
}

// ---------------------------------------------------------------------------
// mTLS

// authPKI is a CA with a server certificate for 127.0.0.1 and client
// certificates, for mTLS.
type authPKI struct {
	caFile             string
	serverCert, srvKey string // PEM files
	pool               *x509.CertPool
	ca                 *x509.Certificate
	caKey              *ecdsa.PrivateKey
	dir                string
	serial             int64
}

// newAuthPKI makes a CA (named name) and a server certificate for
// 127.0.0.1 signed by it, as PEM files in t.TempDir().
func newAuthPKI(t *testing.T, name string) *authPKI {
	t.Helper()
	p := &authPKI{dir: t.TempDir(), pool: x509.NewCertPool(), serial: 1}
	p.caKey = authECKey(t)
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(p.serial),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.pool.AddCert(p.ca)
	p.caFile = filepath.Join(p.dir, "ca.pem")
	writePEM(t, p.caFile, "CERTIFICATE", der)

	srv := p.leaf(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	p.serverCert = filepath.Join(p.dir, "server.pem")
	p.srvKey = filepath.Join(p.dir, "server.key")
	writePEM(t, p.serverCert, "CERTIFICATE", srv.Certificate[0])
	keyDER, err := x509.MarshalPKCS8PrivateKey(srv.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.srvKey, "PRIVATE KEY", keyDER)
	return p
}

// leaf issues a certificate with CN cn (and, for server certificates, the
// IP SAN 127.0.0.1) for the given usage.
func (p *authPKI) leaf(t *testing.T, cn string, usage x509.ExtKeyUsage) tls.Certificate {
	t.Helper()
	key := authECKey(t)
	p.serial++
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(p.serial),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{usage},
	}
	if usage == x509.ExtKeyUsageServerAuth {
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// clientCert issues a client certificate with CN cn.
func (p *authPKI) clientCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	return p.leaf(t, cn, x509.ExtKeyUsageClientAuth)
}

// authTLSClient is an HTTPS client trusting roots and presenting certs[0]
// (no certificate when certs is empty), closed at cleanup. The certificate is sent even when
// the server's list of acceptable CAs does not include its issuer (Go's
// client would otherwise send none), so the server's verification is
// what is tested.
func authTLSClient(t *testing.T, roots *x509.CertPool, certs ...tls.Certificate) *http.Client {
	cfg := &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	if len(certs) > 0 {
		cert := certs[0]
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		DialContext:       (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		ForceAttemptHTTP2: false,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
