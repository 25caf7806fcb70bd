package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBackendTLSPolicyFileMode: with `gatehouse run -c DIR` on manifests,
// a BackendTLSPolicy makes the gateway reach its Service over TLS, with
// the policy hostname as SNI and the ConfigMap's CA as trust anchor; a
// policy whose hostname the backend certificate does not carry makes the
// request fail (502), and a subjectAltNames entry the certificate carries
// lets it through despite that hostname.
func TestBackendTLSPolicyFileMode(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "abc.example.com")
	cert, err := tls.LoadX509KeyPair(pki.files["abc.example.com"][0], pki.files["abc.example.com"][1])
	if err != nil {
		t.Fatal(err)
	}
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-SNI", r.TLS.ServerName)
		w.Write([]byte("ok"))
	}))
	be.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	be.StartTLS()
	t.Cleanup(be.Close)
	_, bePort, _ := net.SplitHostPort(be.Listener.Addr().String())

	port := freePort(t)
	admin := freeAddr(t)
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: gatehouse
  listeners: [{name: web, protocol: HTTP, port: %d}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca}
data:
  ca.crt: |
    %s
`, port, strings.ReplaceAll(strings.TrimSpace(string(pki.caPEM)), "\n", "\n    "))
	for _, c := range []struct{ name, host, sans string }{
		{"good", "abc.example.com", ""},
		{"bad", "other.example.com", ""},
		{"san", "other.example.com", "\n    subjectAltNames: [{type: Hostname, hostname: abc.example.com}]"},
	} {
		fmt.Fprintf(&b, `---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: %[1]s}
spec:
  parentRefs: [{name: gw}]
  rules: [{matches: [{path: {type: Exact, value: /%[1]s}}], backendRefs: [{name: %[1]s, port: 443}]}]
---
apiVersion: v1
kind: Service
metadata: {name: %[1]s}
spec: {ports: [{name: https, port: 443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: %[1]s-1, labels: {kubernetes.io/service-name: %[1]s}}
addressType: IPv4
ports: [{name: https, port: %[2]s}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: %[1]s}
spec:
  targetRefs: [{group: "", kind: Service, name: %[1]s}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
    hostname: %[3]s%[4]s
`, c.name, bePort, c.host, c.sans)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manifests.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.yaml"), []byte("kubernetes: {listen_host: 127.0.0.1}\n"+adminTail(admin)), 0o644); err != nil {
		t.Fatal(err)
	}
	startGatewayFile(t, gatehouseBin, dir, admin)
	c := httpClient(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)

	if resp, body := get(t, c, base+"/good", "gw.example"); resp.StatusCode != 200 || resp.Header.Get("X-SNI") != "abc.example.com" {
		t.Errorf("GET /good: %d %q SNI %q, want 200 over TLS with SNI abc.example.com", resp.StatusCode, body, resp.Header.Get("X-SNI"))
	}
	if resp, body := get(t, c, base+"/bad", "gw.example"); resp.StatusCode != 502 {
		t.Errorf("GET /bad (certificate lacks the policy hostname): %d %q, want 502", resp.StatusCode, body)
	}
	if resp, body := get(t, c, base+"/san", "gw.example"); resp.StatusCode != 200 || resp.Header.Get("X-SNI") != "other.example.com" {
		t.Errorf("GET /san: %d %q SNI %q, want 200 with SNI other.example.com (SAN checked instead)", resp.StatusCode, body, resp.Header.Get("X-SNI"))
	}
}
