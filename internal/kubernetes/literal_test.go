package kubernetes

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/gateway/translate"
)

// Gateway API header values are literal, while Gatehouse header values
// are templates loaded through ${ENV} substitution: a value such as
// "${x}" or "$HOME" must reach the request exactly as written, on a
// route filter and on a backendRef (target) filter of a weighted split.
func TestHeaderValuesStayLiteral(t *testing.T) {
	const values = `
        set:
        - {name: X-Tpl, value: "${client_ip}"}
        - {name: X-Env, value: "${HOME} $HOME $$ $${x}"}
        add:
        - {name: X-Add, value: "a${x}b"}`
	src := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: gatehouse
  listeners:
  - {name: web, protocol: HTTP, port: 80}
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: infra}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: echo2, namespace: infra}
spec:
  ports: [{name: http, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: lit, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /a}}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:` + values + `
    backendRefs: [{name: echo, port: 8080}]
  - matches: [{path: {value: /b}}]
    backendRefs:
    - name: echo
      port: 8080
      filters:
      - type: RequestHeaderModifier
        requestHeaderModifier:` + indent(values, "  ") + `
    - {name: echo2, port: 8080}
`
	objs, err := Decode("lit.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cfg := parse(t, Translate(objs, Options{SecretDir: t.TempDir()}))
	want := map[string]string{"X-Tpl": "${client_ip}", "X-Env": "${HOME} $HOME $$ $${x}", "X-Add": "a${x}b"}
	check := func(where string, h http.Header) {
		t.Helper()
		for k, v := range want {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", where, k, h.Get(k), v)
			}
		}
	}
	var got http.Header
	layer := translate.Filters(findRoute(t, cfg, "httproute_infra_lit_0"), translate.FilterEnv{})
	layer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header })).
		ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/a", nil))
	check("route filter", got)
	targets := 0
	for _, u := range cfg.Upstreams {
		for host, edit := range translate.TargetHeaders(u) {
			h := http.Header{}
			edit(h)
			check("target "+host, h)
			targets++
		}
	}
	if targets != 1 {
		t.Fatalf("%d targets with header edits, want 1", targets)
	}
}

func indent(s, by string) string {
	out := ""
	for _, line := range splitLines(s) {
		if line != "" {
			line = by + line
		}
		out += "\n" + line
	}
	return out
}

func splitLines(s string) []string {
	var lines []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			lines = append(lines, s[start:i])
			start = i + 1
		}
	}
	lines = append(lines, s[start:])
	return lines[1:] // s starts with a newline
}
