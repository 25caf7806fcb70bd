package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGatewayClientCertificatesFileMode: with `gatehouse run -c DIR` on
// manifests, a Gateway's tls.frontend validation makes its HTTPS listener
// require a client certificate of the ConfigMap's CA (a real mTLS
// handshake: no certificate and another CA's certificate are refused),
// and its tls.backend clientCertificateRef is presented to a TLS backend
// (BackendTLSPolicy) that requires a client certificate.
func TestGatewayClientCertificatesFileMode(t *testing.T) {
	t.Parallel()
	front := newAuthPKI(t, "frontend CA")      // server cert for 127.0.0.1, client certs
	other := newAuthPKI(t, "other CA")         // a CA the Gateway does not trust
	backendPKI := newPKI(t, "abc.example.com") // the backend's server certificate
	gwClient := front.clientCert(t, "gatehouse-to-backend")

	// The backend requires a client certificate of the frontend CA and
	// reports the CN it got.
	beCert, err := tls.LoadX509KeyPair(backendPKI.files["abc.example.com"][0], backendPKI.files["abc.example.com"][1])
	if err != nil {
		t.Fatal(err)
	}
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Client-CN", r.TLS.PeerCertificates[0].Subject.CommonName)
		w.Write([]byte("ok"))
	}))
	be.TLS = &tls.Config{Certificates: []tls.Certificate{beCert}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: front.pool}
	be.StartTLS()
	t.Cleanup(be.Close)
	_, bePort, _ := net.SplitHostPort(be.Listener.Addr().String())

	indent := func(p []byte) string {
		return "|\n    " + strings.ReplaceAll(strings.TrimSpace(string(p)), "\n", "\n    ")
	}
	read := func(path string) []byte {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	clientKey, err := x509.MarshalPKCS8PrivateKey(gwClient.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	admin := freeAddr(t)
	manifests := fmt.Sprintf(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: gatehouse
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{kind: ConfigMap, group: "", name: client-ca}]
    backend:
      clientCertificateRef: {group: "", kind: Secret, name: to-backend}
  listeners:
  - {name: https, protocol: HTTPS, port: %[1]d, tls: {certificateRefs: [{name: server}]}}
---
apiVersion: v1
kind: Secret
metadata: {name: server}
type: kubernetes.io/tls
stringData:
  tls.crt: %[2]s
  tls.key: %[3]s
---
apiVersion: v1
kind: Secret
metadata: {name: to-backend}
type: kubernetes.io/tls
stringData:
  tls.crt: %[4]s
  tls.key: %[5]s
---
apiVersion: v1
kind: ConfigMap
metadata: {name: client-ca}
data:
  ca.crt: %[6]s
---
apiVersion: v1
kind: ConfigMap
metadata: {name: backend-ca}
data:
  ca.crt: %[7]s
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: be, port: 443}]}]
---
apiVersion: v1
kind: Service
metadata: {name: be}
spec: {ports: [{name: https, port: 443}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: be-1, labels: {kubernetes.io/service-name: be}}
addressType: IPv4
ports: [{name: https, port: %[8]s}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: be}
spec:
  targetRefs: [{group: "", kind: Service, name: be}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: backend-ca}]
    hostname: abc.example.com
`, port, indent(read(front.serverCert)), indent(read(front.srvKey)),
		indent(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: gwClient.Certificate[0]})),
		indent(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: clientKey})),
		indent(read(front.caFile)), indent(backendPKI.caPEM), bePort)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "manifests.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gatehouse.yaml"), []byte("kubernetes: {listen_host: 127.0.0.1}\n"+adminTail(admin)), 0o644); err != nil {
		t.Fatal(err)
	}
	startGatewayFile(t, gatehouseBin, dir, admin)
	url := fmt.Sprintf("https://127.0.0.1:%d/", port)

	resp, err := authTLSClient(t, front.pool, front.clientCert(t, "alice")).Get(url)
	if err != nil {
		t.Fatalf("GET with a client certificate of the Gateway's CA: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Client-CN") != "gatehouse-to-backend" {
		t.Errorf("GET with a valid client certificate: %d, backend saw client CN %q, want 200 and gatehouse-to-backend", resp.StatusCode, resp.Header.Get("X-Client-CN"))
	}
	for name, c := range map[string]*http.Client{
		"no client certificate":           authTLSClient(t, front.pool),
		"another CA's client certificate": authTLSClient(t, front.pool, other.clientCert(t, "mallory")),
	} {
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			t.Errorf("GET with %s: %d, want the handshake refused", name, resp.StatusCode)
		}
	}
}
