package kubernetes

import (
	"slices"
	"testing"
)

// TestParentRefPort (HTTPRouteParentRefPort): parentRef.port selects the
// Gateway's listeners on that port; with a sectionName both must match,
// else the parent is NoMatchingParent.
func TestParentRefPort(t *testing.T) {
	const m = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  listeners:
  - {name: l1, protocol: HTTP, port: 80, hostname: foo.com}
  - {name: l2, protocol: HTTP, port: 8080, hostname: foo.com}
  - {name: l3, protocol: HTTP, port: 8080, hostname: bar.com}
  - {name: l4, protocol: HTTP, port: 8090, hostname: foo.com}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: by-port}
spec:
  parentRefs: [{name: gw, port: 8080}]
  rules: [{}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: port-and-section}
spec:
  parentRefs: [{name: gw, port: 8090, sectionName: l4}]
  rules: [{}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: mismatch}
spec:
  parentRefs: [{name: gw, port: 80, sectionName: l4}]
  rules: [{}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: no-such-port}
spec:
  parentRefs: [{name: gw, port: 9999}]
  rules: [{}]
`
	objs, err := Decode("m.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	cfg := parse(t, res)
	// by-port lands on both listeners of port 8080, one route per
	// hostname group, all on the Gatehouse listener http-8080.
	var hosts []string
	for _, r := range cfg.Routes {
		if r.Name == "httproute_default_by-port_0_g0" || r.Name == "httproute_default_by-port_0_g1" {
			if !slices.Equal(r.Listeners, []string{"http-8080"}) {
				t.Errorf("%s on %v", r.Name, r.Listeners)
			}
			hosts = append(hosts, r.Matches[0].Hosts...)
		}
	}
	if slices.Sort(hosts); !slices.Equal(hosts, []string{"bar.com", "foo.com"}) {
		t.Errorf("by-port hosts %v", hosts)
	}
	if r := findRoute(t, cfg, "httproute_default_port-and-section_0"); !slices.Equal(r.Listeners, []string{"http-8090"}) {
		t.Errorf("port-and-section on %v", r.Listeners)
	}
	wantCond(t, res, "HTTPRoute", "default", "by-port", "Gateway default/gw:8080", "Accepted", "True", "Accepted")
	wantCond(t, res, "HTTPRoute", "default", "mismatch", "Gateway default/gw/l4:80", "Accepted", "False", "NoMatchingParent")
	wantCond(t, res, "HTTPRoute", "default", "no-such-port", "Gateway default/gw:9999", "Accepted", "False", "NoMatchingParent")
}
