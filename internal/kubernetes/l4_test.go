package kubernetes

import (
	"strings"
	"testing"
)

// TestTLSPassthroughAlone: a TLS Passthrough listener on a port of its own
// becomes a tcp listener whose l4_routes match SNI; v1 and v1alpha3
// TLSRoutes and v1 TCPRoutes decode like v1alpha2 ones; Gateway API kinds
// not read are reported.
func TestTLSPassthroughAlone(t *testing.T) {
	const m = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  listeners:
  - {name: pass, protocol: TLS, port: 6443, tls: {mode: Passthrough}}
  - {name: raw, protocol: TCP, port: 7000}
---
apiVersion: gateway.networking.k8s.io/v1
kind: TLSRoute
metadata: {name: a}
spec:
  parentRefs: [{name: gw}]
  hostnames: [a.example.com]
  rules: [{backendRefs: [{name: s, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1alpha3
kind: TLSRoute
metadata: {name: b}
spec:
  parentRefs: [{name: gw}]
  hostnames: ["*.b.example.com"]
  rules: [{backendRefs: [{name: s, port: 443}]}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: TCPRoute
metadata: {name: c}
spec:
  parentRefs: [{name: gw, sectionName: raw}]
  rules: [{backendRefs: [{name: s, port: 443}]}]
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 443}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: ListenerSet
metadata: {name: p}
spec: {}
`
	objs, err := Decode("l4.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	cfg := parse(t, res)
	if len(cfg.Listeners) != 2 || cfg.Listeners[0].Name != "tcp-6443" || cfg.Listeners[0].Protocol != "tcp" {
		t.Fatalf("listeners %+v", cfg.Listeners[0])
	}
	got := []string{}
	for _, r := range cfg.L4Routes {
		sni := ""
		if r.Match != nil {
			sni = strings.Join(r.Match.SNI, ",")
		}
		got = append(got, r.Name+"@"+strings.Join(r.Listeners, ",")+"|"+sni)
	}
	want := "tcproute_default_c@tcp-7000| tlsroute_default_a@tcp-6443|a.example.com tlsroute_default_b@tcp-6443|*.b.example.com"
	if strings.Join(got, " ") != want {
		t.Errorf("l4 routes %v, want %s", got, want)
	}
	if u := findUpstream(t, cfg, "tlsroute_default_a"); u.Targets[0].URL != "tcp://s.default.svc:443" {
		t.Errorf("target %s", u.Targets[0].URL)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), "l4.yaml:38: ListenerSet gateway.networking.k8s.io/v1 is not supported yet") {
		t.Errorf("errors %v", res.Errors)
	}
}
