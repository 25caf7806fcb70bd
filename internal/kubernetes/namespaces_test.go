package kubernetes

import (
	"slices"
	"testing"
)

// TestNamespaceSelector: allowedRoutes.namespaces.from: Selector matches
// the labels of Namespace objects; a namespace without object has only
// kubernetes.io/metadata.name; an invalid selector refuses the listener.
func TestNamespaceSelector(t *testing.T) {
	const m = `apiVersion: v1
kind: Namespace
metadata: {name: apps, labels: {team: a}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: infra}
spec:
  gatewayClassName: x
  listeners:
  - name: team-a
    protocol: HTTP
    port: 80
    allowedRoutes: {namespaces: {from: Selector, selector: {matchLabels: {team: a}}}}
  - name: by-name
    protocol: HTTP
    port: 81
    allowedRoutes:
      namespaces:
        from: Selector
        selector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, values: [other]}]}
  - name: bad
    protocol: HTTP
    port: 82
    allowedRoutes: {namespaces: {from: Selector, selector: {matchExpressions: [{key: team, operator: Bogus}]}}}
  - name: unset
    protocol: HTTP
    port: 83
    allowedRoutes: {namespaces: {from: Selector}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: apps}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: team-a}, {name: gw, namespace: infra, sectionName: by-name}]
  rules: [{}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: other}
spec:
  parentRefs: [{name: gw, namespace: infra, sectionName: team-a}, {name: gw, namespace: infra, sectionName: by-name}]
  rules: [{}]
`
	objs, err := Decode("m.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	cfg := parse(t, res)
	wantCond(t, res, "HTTPRoute", "apps", "r", "Gateway infra/gw/team-a", "Accepted", "True", "Accepted")
	wantCond(t, res, "HTTPRoute", "apps", "r", "Gateway infra/gw/by-name", "Accepted", "False", "NotAllowedByListeners")
	wantCond(t, res, "HTTPRoute", "other", "r", "Gateway infra/gw/team-a", "Accepted", "False", "NotAllowedByListeners")
	wantCond(t, res, "HTTPRoute", "other", "r", "Gateway infra/gw/by-name", "Accepted", "True", "Accepted")
	wantCond(t, res, "Gateway", "infra", "gw", "team-a", "Accepted", "True", "Accepted")
	wantCond(t, res, "Gateway", "infra", "gw", "bad", "Accepted", "False", "UnsupportedValue")
	wantCond(t, res, "Gateway", "infra", "gw", "unset", "Accepted", "False", "UnsupportedValue")
	if r := findRoute(t, cfg, "httproute_apps_r_0"); !slices.Equal(r.Listeners, []string{"http-80"}) {
		t.Errorf("apps route on %v", r.Listeners)
	}
	if r := findRoute(t, cfg, "httproute_other_r_0"); !slices.Equal(r.Listeners, []string{"http-81"}) {
		t.Errorf("other route on %v", r.Listeners)
	}
}
