package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// copyExample copies an example directory into a temporary one: the
// gateway watches its configuration's directory, and examples/ is not
// ours to watch or touch.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join(moduleRoot, "examples", name)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestKubernetesExample runs examples/kubernetes (the article's Ingress
// and HTTPRoute, a Gateway, an IngressClass, a Service with its
// EndpointSlice, and Gatehouse YAML) with `gatehouse run -c DIR` on its
// fixed ports: the HTTPRoute's RequestHeaderModifier header reaches the
// backend, the Ingress routes by host, and editing a manifest reloads.
func TestKubernetesExample(t *testing.T) {
	for _, a := range []string{"127.0.0.1:8180", "127.0.0.1:9903", "127.0.0.1:9183"} {
		if !portFree(a) {
			t.Skipf("example port %s is busy on this machine", a)
		}
	}
	be := newBackendOn(t, "my-service", "127.0.0.1:9183")
	dir := copyExample(t, "kubernetes")
	g := startGatewayFile(t, gatehouseBin, dir, "127.0.0.1:9903")
	c := httpClient(t)

	resp, body := get(t, c, "http://127.0.0.1:8180/v1/data", "api.example")
	if resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "my-service" {
		t.Fatalf("GET /v1/data: %d %q", resp.StatusCode, body)
	}
	reqs := be.requests()
	if got := reqs[len(reqs)-1].Header.Get("X-Api-Key"); got != "secret-key" {
		t.Fatalf("backend saw X-API-Key %q, want secret-key (RequestHeaderModifier)", got)
	}

	// The Ingress: host myapp.com, every path; no header added there.
	resp, body = get(t, c, "http://127.0.0.1:8180/anything", "myapp.com")
	if resp.StatusCode != 200 {
		t.Fatalf("GET myapp.com/anything: %d %q", resp.StatusCode, body)
	}
	reqs = be.requests()
	if last := reqs[len(reqs)-1]; last.Path != "/anything" || last.Header.Get("X-Api-Key") != "" {
		t.Fatalf("Ingress request reached the backend as %+v", last)
	}
	// Neither route matches another host's other paths.
	if resp, _ := get(t, c, "http://127.0.0.1:8180/other", "api.example"); resp.StatusCode != 404 {
		t.Fatalf("GET api.example/other: %d, want 404", resp.StatusCode)
	}

	// Editing a manifest reloads, like any configuration file.
	route := filepath.Join(dir, "httproute.yaml")
	data, err := os.ReadFile(route)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(route, []byte(strings.Replace(string(data), "value: secret-key", "value: rotated-key", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ok := waitFor(10*time.Second, func() bool {
		get(t, c, "http://127.0.0.1:8180/v1/data", "api.example")
		reqs := be.requests()
		return reqs[len(reqs)-1].Header.Get("X-Api-Key") == "rotated-key"
	})
	if !ok {
		t.Fatalf("the edited HTTPRoute was not reloaded; logs:\n%s", tail(g.logs(), 20))
	}
}

// TestFileModeBadManifest: a manifest that does not decode stops the
// start with file:line, and on reload keeps the running configuration.
func TestFileModeBadManifest(t *testing.T) {
	dir := t.TempDir()
	port := freeAddr(t)
	admin := freeAddr(t)
	gh := "admin: {address: \"" + admin + "\"}\nkubernetes: {listen_host: 127.0.0.1}\n"
	route := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: any
  listeners: [{name: http, port: PORT, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - filters: [{type: RequestRedirect, requestRedirect: {statusCode: 302, hostname: example.com}}]
`
	_, p, _ := strings.Cut(port, ":")
	route = strings.Replace(route, "PORT", p, 1)
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("gatehouse.yaml", gh)
	write("routes.yaml", strings.Replace(route, "protocol: HTTP}", "protocol: HTTP, bogus: 1}", 1))
	code, _, stderr := runCommand(t, "run", "-c", dir)
	if code == 0 || !strings.Contains(stderr, "routes.yaml:6") || !strings.Contains(stderr, "bogus") {
		t.Fatalf("run with a bad manifest: exit %d, stderr %q; want non-zero with routes.yaml:6 and the field", code, stderr)
	}

	write("routes.yaml", route)
	g := startGatewayFile(t, gatehouseBin, dir, admin)
	c := httpClient(t)
	resp, _ := get(t, c, "http://"+port+"/x", "")
	// No scheme and no port in the redirect: the Gateway API keeps the
	// listener's port.
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "http://example.com:"+p+"/x" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	write("routes.yaml", strings.Replace(route, "protocol: HTTP}", "protocol: HTTP, bogus: 1}", 1))
	if !g.waitLog("bogus", 10*time.Second) {
		t.Fatalf("bad reload not logged:\n%s", tail(g.logs(), 20))
	}
	if resp, _ := get(t, c, "http://"+port+"/x", ""); resp.StatusCode != 302 {
		t.Fatalf("after a bad reload: %d, want the running configuration (302)", resp.StatusCode)
	}
}

// TestFileModePolicyAttachment: a GatehousePolicy attached by an
// ExtensionRef filter is enforced on its rule only, through the binary.
func TestFileModePolicyAttachment(t *testing.T) {
	be := newBackend(t, "svc")
	port := freeAddr(t)
	admin := freeAddr(t)
	_, p, _ := strings.Cut(port, ":")
	_, bp, _ := strings.Cut(be.addr, ":")
	dir := t.TempDir()
	files := map[string]string{
		"gatehouse.yaml": "admin: {address: \"" + admin + "\"}\nkubernetes: {listen_host: 127.0.0.1}\n",
		"routes.yaml": `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: any
  listeners: [{name: http, port: ` + p + `, protocol: HTTP}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: GatehousePolicy
metadata: {name: local-only-denied}
spec:
  ip_filter: {deny: [127.0.0.0/8]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /guarded}}]
    filters: [{type: ExtensionRef, extensionRef: {group: gatehouse.dev, kind: GatehousePolicy, name: local-only-denied}}]
    backendRefs: [{name: svc, port: 80}]
  - backendRefs: [{name: svc, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: svc-1, labels: {kubernetes.io/service-name: svc}}
addressType: IPv4
ports: [{name: http, port: ` + bp + `}]
endpoints: [{addresses: [127.0.0.1]}]
`,
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startGatewayFile(t, gatehouseBin, dir, admin)
	c := httpClient(t)
	resp, body := get(t, c, "http://"+port+"/guarded", "")
	if resp.StatusCode != 403 || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Fatalf("GET /guarded: %d %q %q, want 403 problem+json from the attached ip_filter", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if resp, body := get(t, c, "http://"+port+"/open", ""); resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "svc" {
		t.Fatalf("GET /open: %d %q", resp.StatusCode, body)
	}
}
