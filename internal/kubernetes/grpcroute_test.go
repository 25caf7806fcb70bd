package kubernetes

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

const grpcManifests = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: x
  listeners:
  - {name: web, protocol: HTTP, port: 80}
  - {name: http-only, protocol: HTTP, port: 81, allowedRoutes: {kinds: [{kind: HTTPRoute}]}}
---
apiVersion: v1
kind: Service
metadata: {name: v1, namespace: infra}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: v2, namespace: infra}
spec: {ports: [{port: 8080}]}
---
apiVersion: v1
kind: Service
metadata: {name: v3, namespace: infra}
spec: {ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: echo, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules:
  - name: named-rule
    matches:
    - method: {service: pkg.Echo, method: Echo}
    backendRefs: [{name: v1, port: 8080}]
  - matches:
    - method: {service: pkg.Echo}
    backendRefs: [{name: v2, port: 8080}]
  - matches:
    - method: {method: Three}
    - method: {type: RegularExpression, service: "pkg\\.E.*", method: "Fo+"}
    backendRefs: [{name: v3, port: 8080}]
  - matches:
    - headers: [{name: version, value: two}]
    - headers: [{name: version, value: two}, {name: color, value: orange}]
    filters:
    - type: RequestHeaderModifier
      requestHeaderModifier: {set: [{name: X-Route, value: grpc}]}
    - type: ResponseHeaderModifier
      responseHeaderModifier: {remove: [Server]}
    backendRefs:
    - {name: v1, port: 8080, weight: 70}
    - {name: v2, port: 8080, weight: 30}
    - {name: v3, port: 8080, weight: 0}
  - matches:
    - headers: [{name: color, type: RegularExpression, value: "bl(ue|ack)"}]
    backendRefs: [{name: missing, port: 8080}]
  - matches:
    - method: {service: pkg.Mirror}
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: v3, port: 8080}}
    - type: RequestMirror
      requestMirror: {backendRef: {name: v2, port: 8080}, fraction: {numerator: 1, denominator: 4}}
    backendRefs: [{name: v1, port: 8080}]
  - matches:
    - method: {service: pkg.Ext}
    filters:
    - type: ExtensionRef
      extensionRef: {group: example.com, kind: Thing, name: x}
    backendRefs: [{name: v1, port: 8080}]
  - matches:
    - method: {service: pkg.Bad}
    filters:
    - type: RequestMirror
      requestMirror: {backendRef: {name: v3, port: 8080}, percent: 0}
    backendRefs: [{name: v1, port: 8080}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: dup-names, namespace: infra}
spec:
  parentRefs: [{name: gw}]
  rules: [{name: a, backendRefs: [{name: v1, port: 8080}]}, {name: a, backendRefs: [{name: v2, port: 8080}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: not-allowed, namespace: infra}
spec:
  parentRefs: [{name: gw, sectionName: http-only}]
  rules: [{backendRefs: [{name: v1, port: 8080}]}]
`

// TestGRPCRoute: method matches become /service/method paths, header
// matches, filters and weighted backends carry over, upstreams speak
// HTTP/2 (h2c to http:// targets) and the http listener serves h2c; a rule
// without usable backend answers gRPC UNAVAILABLE; RequestMirror becomes
// request_mirror (percent or fraction); ExtensionRef drops its rule; a listener whose kinds exclude GRPCRoute refuses it. The router
// then sends each call where the GRPCRoute precedence says.
func TestGRPCRoute(t *testing.T) {
	objs, err := Decode("grpc.yaml", []byte(grpcManifests))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{SecretDir: t.TempDir()})
	cfg := parse(t, res)

	if l := cfg.Listeners[0]; l.Name != "http-80" || !l.H2C {
		t.Errorf("listener %s h2c=%v, want http-80 with h2c", l.Name, l.H2C)
	}
	if l := cfg.Listeners[1]; l.Name != "http-81" || l.H2C {
		t.Errorf("listener %s h2c=%v, want http-81 without h2c (no GRPCRoute)", l.Name, l.H2C)
	}
	if p := findRoute(t, cfg, "grpcroute_infra_echo_0").Matches[0].Path; p.Exact != "/pkg.Echo/Echo" {
		t.Errorf("service+method: %+v", p)
	}
	if p := findRoute(t, cfg, "grpcroute_infra_echo_1").Matches[0].Path; p.Template != "/pkg.Echo/{method}" {
		t.Errorf("service only: %+v", p)
	}
	r2 := findRoute(t, cfg, "grpcroute_infra_echo_2")
	if r2.Matches[0].Path.Regex != `/(?:[^/]+)/(?:Three)` || r2.Matches[1].Path.Regex != `/(?:pkg\.E.*)/(?:Fo+)` {
		t.Errorf("method only / regex: %+v %+v", r2.Matches[0].Path, r2.Matches[1].Path)
	}
	r3 := findRoute(t, cfg, "grpcroute_infra_echo_3")
	if r3.Filters[0].RequestHeaders.Set["X-Route"] != "grpc" || r3.Filters[1].ResponseHeaders.Remove[0] != "Server" {
		t.Errorf("filters %+v %+v", r3.Filters[0], r3.Filters[1])
	}
	u := findUpstream(t, cfg, "grpcroute_infra_echo_3")
	got := map[string]int{}
	for _, tg := range u.Targets {
		got[tg.URL] = tg.Weight
	}
	if want := map[string]int{"http://v1.infra.svc:8080": 10000, "http://v2.infra.svc:8080": 4286}; !maps.Equal(got, want) || u.Protocol != "http2" {
		t.Errorf("upstream %v protocol %s, want %v over http2", got, u.Protocol, want)
	}
	if r := findRoute(t, cfg, "grpcroute_infra_echo_4"); r.Respond == nil || r.Respond.Headers["Grpc-Status"] != "14" || r.Backend != nil {
		t.Errorf("no usable backend: %+v", r.Respond)
	}
	mr := findRoute(t, cfg, "grpcroute_infra_echo_5")
	if len(mr.Filters) != 2 || *mr.Filters[0].RequestMirror != (config.RequestMirror{Pos: mr.Filters[0].RequestMirror.Pos, Upstream: "grpcroute_infra_echo_5_mirror_0", Percent: 100}) ||
		mr.Filters[1].RequestMirror.Upstream != "grpcroute_infra_echo_5_mirror_1" || mr.Filters[1].RequestMirror.Percent != 25 {
		t.Errorf("mirror filters %+v %+v", mr.Filters[0].RequestMirror, mr.Filters[1].RequestMirror)
	}
	if u := findUpstream(t, cfg, "grpcroute_infra_echo_5_mirror_0"); u.Protocol != "http2" || u.Targets[0].URL != "http://v3.infra.svc:8080" {
		t.Errorf("mirror upstream %+v %s", u, u.Targets[0].URL)
	}
	for _, r := range cfg.Routes {
		if r.Name == "grpcroute_infra_echo_6" || r.Name == "grpcroute_infra_echo_7" {
			t.Errorf("rule with ExtensionRef or a 0%% mirror translated: %s", r.Name)
		}
	}
	if len(res.Errors) != 3 {
		t.Errorf("errors %v, want the ExtensionRef and 0%% mirror rules' and the duplicate rule name", res.Errors)
	}
	wantCond(t, res, "GRPCRoute", "infra", "dup-names", "", "Accepted", "False", "UnsupportedValue")
	wantCond(t, res, "GRPCRoute", "infra", "echo", "Gateway infra/gw", "Accepted", "True", "Accepted")
	wantCond(t, res, "GRPCRoute", "infra", "echo", "", "ResolvedRefs", "False", "BackendNotFound")
	wantCond(t, res, "GRPCRoute", "infra", "echo", "", "PartiallyInvalid", "True", "UnsupportedValue")
	wantCond(t, res, "GRPCRoute", "infra", "not-allowed", "Gateway infra/gw/http-only", "Accepted", "False", "NotAllowedByListeners")

	hdr := func(kv ...string) http.Header {
		h := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return h
	}
	cases := []struct {
		path string
		h    http.Header
		want string
	}{
		{"/pkg.Echo/Echo", nil, "grpcroute_infra_echo_0"},
		{"/pkg.Echo/EchoTwo", nil, "grpcroute_infra_echo_1"},
		{"/other.Svc/Three", nil, "grpcroute_infra_echo_2"},
		// Service only beats method only (more service characters).
		{"/pkg.Echo/Three", nil, "grpcroute_infra_echo_1"},
		{"/pkg.Extra/Fooo", nil, "grpcroute_infra_echo_2"},
		// Exact service and method beats a header-only rule.
		{"/pkg.Echo/Echo", hdr("Version", "two"), "grpcroute_infra_echo_0"},
		{"/other.Svc/Four", hdr("Version", "two", "Color", "orange"), "grpcroute_infra_echo_3"},
		{"/other.Svc/Four", hdr("Color", "black"), "grpcroute_infra_echo_4"},
		{"/other.Svc/Four", hdr("Color", "purple"), ""},
	}
	for _, c := range cases {
		if got := routeFor(t, cfg, "http-80", "grpc.example", c.path, c.h); got != c.want {
			t.Errorf("%s %v → %q, want %q", c.path, c.h, got, c.want)
		}
	}
	if names := routeNames(cfg.Routes); slices.ContainsFunc(names, func(n string) bool { return n == "grpcroute_infra_not-allowed_0" }) {
		t.Errorf("refused route translated: %v", names)
	}
}

// TestGRPCRouteListenerHostnames runs the request table of the
// conformance test GRPCRouteListenerHostnameMatching (manifest copied
// from the suite) through the router: each authority reaches the route of
// its most specific listener, others no route (UNIMPLEMENTED).
func TestGRPCRouteListenerHostnames(t *testing.T) {
	res := Translate(load(t, "grpc-listener-hostnames.yaml"), Options{})
	cfg := parse(t, res)
	const p = "grpcroute_gateway-conformance-infra_"
	for host, want := range map[string]string{
		"bar.com":                   p + "backend-v1_0",
		"foo.bar.com":               p + "backend-v2_0",
		"baz.bar.com":               p + "backend-v3_0",
		"boo.bar.com":               p + "backend-v3_0",
		"multiple.prefixes.bar.com": p + "backend-v3_0",
		"multiple.prefixes.foo.com": p + "backend-v3_0",
		"foo.com":                   "",
		"no.matching.host":          "",
	} {
		got := routeFor(t, cfg, "http-80", host, "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo", nil)
		if !strings.HasPrefix(got, want) || (want == "" && got != "" && !strings.HasPrefix(got, "isolation_")) {
			t.Errorf("%s → %q, want %q", host, got, want)
		}
	}
	for _, r := range []string{"backend-v1", "backend-v2", "backend-v3"} {
		if s, ok := res.Find("GRPCRoute", "gateway-conformance-infra", r, ""); ok {
			if c, _ := s.Condition("ResolvedRefs"); c.Reason != "BackendNotFound" {
				t.Errorf("%s: %+v", r, c)
			}
		}
	}
	wantCond(t, res, "GRPCRoute", "gateway-conformance-infra", "backend-v3", "Gateway gateway-conformance-infra/grpcroute-listener-hostname-matching/listener-4", "Accepted", "True", "Accepted")
}

// TestGRPCRouteHeaderMatching runs the request table of the conformance
// test GRPCRouteHeaderMatching (manifest copied from the suite) through
// the router: more header matches win, then rule order.
func TestGRPCRouteHeaderMatching(t *testing.T) {
	res := Translate(load(t, "grpc-header-matching.yaml"), Options{})
	cfg := parse(t, res)
	const p = "grpcroute_gateway-conformance-infra_grpc-header-matching_"
	v1 := []string{p + "0", p + "2", p + "3"} // rules whose backend is v1
	v2 := []string{p + "1", p + "4"}
	cases := []struct {
		h    []string
		want []string
	}{
		{[]string{"Version", "one"}, v1},
		{[]string{"Version", "two"}, v2},
		{[]string{"Version", "two", "Color", "orange"}, v1},
		{[]string{"Version", "two", "Color", "blue"}, v2},
		{[]string{"Color", "orange"}, nil},
		{[]string{"Some-Other-Header", "one"}, nil},
		{[]string{"Color", "blue"}, v1},
		{[]string{"Color", "green"}, v1},
		{[]string{"Color", "red"}, v2},
		{[]string{"Color", "yellow"}, v2},
		{[]string{"Color", "purple"}, nil},
	}
	for _, c := range cases {
		h := http.Header{}
		for i := 0; i < len(c.h); i += 2 {
			h.Set(c.h[i], c.h[i+1])
		}
		got := routeFor(t, cfg, "http-80", "gw.example", "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo", h)
		if (c.want == nil && got != "") || (c.want != nil && !slices.Contains(c.want, got)) {
			t.Errorf("%v → %q, want one of %v", c.h, got, c.want)
		}
	}
}
