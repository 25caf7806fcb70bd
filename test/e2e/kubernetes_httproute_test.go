package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKubernetesHTTPRouteExtended runs HTTPRoute extended features
// through the real binary in file mode: a RequestRedirect with
// ReplacePrefixMatch (Location exact, as the conformance test
// HTTPRouteRedirectPath wants it), a URLRewrite with ReplacePrefixMatch
// (HTTPRouteRewritePath), and a Service port with appProtocol
// kubernetes.io/h2c reached over HTTP/2 with prior knowledge
// (HTTPRouteBackendProtocolH2C), and a weighted split whose backendRefs
// set their own request header (HTTPRouteRequestHeaderModifierBackendWeights),
// and a RequestMirror whose copy reaches its own backend (HTTPRouteRequestMirror).
func TestKubernetesHTTPRouteExtended(t *testing.T) {
	plain := newBackend(t, "plain")
	other := newBackend(t, "other")
	h2 := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}))
	h2.Config.Protocols = new(http.Protocols)
	h2.Config.Protocols.SetUnencryptedHTTP2(true) // h2c only: HTTP/1.1 is refused
	h2.Start()
	t.Cleanup(h2.Close)
	_, plainPort, _ := strings.Cut(plain.addr, ":")
	_, h2Port, _ := strings.Cut(h2.Listener.Addr().String(), ":")
	_, otherPort, _ := strings.Cut(other.addr, ":")

	addr := freeAddr(t)
	admin := freeAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	manifests := strings.NewReplacer("PORT", port, "PLAIN", plainPort, "H2", h2Port, "OTHER", otherPort).Replace(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: any
  listeners: [{name: http, port: PORT, protocol: HTTP}]
---
apiVersion: v1
kind: Service
metadata: {name: plain}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: plain-1, labels: {kubernetes.io/service-name: plain}}
addressType: IPv4
ports: [{name: http, port: PLAIN}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: v1
kind: Service
metadata: {name: h2}
spec:
  ports: [{name: h2c, port: 8081, appProtocol: kubernetes.io/h2c}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: h2-1, labels: {kubernetes.io/service-name: h2}}
addressType: IPv4
ports: [{name: h2c, port: H2}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: v1
kind: Service
metadata: {name: other}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: other-1, labels: {kubernetes.io/service-name: other}}
addressType: IPv4
ports: [{name: http, port: OTHER}]
endpoints: [{addresses: [127.0.0.1]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: /original-prefix}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /replacement-prefix}, statusCode: 301}
  - matches: [{path: {type: PathPrefix, value: /secure}}]
    filters:
    - type: RequestRedirect
      requestRedirect: {scheme: https, hostname: example.org}
  - matches: [{path: {type: PathPrefix, value: /prefix/one}}]
    filters:
    - type: URLRewrite
      urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /one}}
    backendRefs: [{name: plain, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /h2c}}]
    backendRefs: [{name: h2, port: 8081}]
  - matches: [{path: {type: PathPrefix, value: /mirrored}}]
    filters: [{type: RequestMirror, requestMirror: {backendRef: {name: other, port: 80}}}]
    backendRefs: [{name: plain, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs:
    - name: plain
      port: 80
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: plain}]}}]
    - name: other
      port: 80
      filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: Backend, value: other}]}}]
`)
	dir := t.TempDir()
	for name, s := range map[string]string{
		"gatehouse.yaml": "admin: {address: \"" + admin + "\"}\nkubernetes: {listen_host: 127.0.0.1}\n",
		"routes.yaml":    manifests,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startGatewayFile(t, gatehouseBin, dir, admin)
	c := httpClient(t)

	resp, _ := get(t, c, "http://"+addr+"/original-prefix/lemon?x=1", "")
	if want := "http://" + addr + "/replacement-prefix/lemon?x=1"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("prefix redirect: %d %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// A scheme without port takes the scheme's port, left out of Location.
	resp, _ = get(t, c, "http://"+addr+"/secure/a", "")
	if want := "https://example.org/secure/a"; resp.StatusCode != 302 || resp.Header.Get("Location") != want {
		t.Errorf("scheme redirect: %d %q, want 302 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, body := get(t, c, "http://"+addr+"/prefix/one/two", "")
	reqs := plain.requests()
	if resp.StatusCode != 200 || len(reqs) == 0 || reqs[len(reqs)-1].Path != "/one/two" {
		t.Errorf("prefix rewrite: %d %q; backend saw %+v", resp.StatusCode, body, reqs)
	}
	resp, body = get(t, c, "http://"+addr+"/h2c/x", "")
	if resp.StatusCode != 200 || body != "HTTP/2.0 /h2c/x" {
		t.Errorf("h2c backend: %d %q, want 200 \"HTTP/2.0 /h2c/x\"", resp.StatusCode, body)
	}

	if resp, body := get(t, c, "http://"+addr+"/mirrored", ""); resp.StatusCode != 200 || !strings.Contains(body, `"backend":"plain"`) {
		t.Errorf("mirrored route: %d %q", resp.StatusCode, body)
	}
	mirrored := waitFor(10*time.Second, func() bool {
		for _, r := range other.requests() {
			if r.Path == "/mirrored" {
				return true
			}
		}
		return false
	})
	if !mirrored {
		t.Errorf("the mirror backend got no copy of /mirrored")
	}
	for i := 0; i < 6; i++ {
		if resp, body := get(t, c, "http://"+addr+"/split", ""); resp.StatusCode != 200 {
			t.Fatalf("split: %d %q", resp.StatusCode, body)
		}
	}
	for _, b := range []*backend{plain, other} {
		n := 0
		for _, r := range b.requests() {
			if r.Path != "/split" {
				continue
			}
			n++
			if got := r.Header.Values("Backend"); len(got) != 1 || got[0] != b.name {
				t.Errorf("backend %s got Backend %q", b.name, got)
			}
		}
		if n == 0 {
			t.Errorf("backend %s got none of the split's requests", b.name)
		}
	}
}
