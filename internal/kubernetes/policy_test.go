package kubernetes

import (
	"strings"
	"testing"
)

const policyManifests = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: any
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: GatehousePolicy
metadata: {name: strict}
spec:
  ip_filter: {deny: [10.0.0.0/8]}
  api_key: {header: X-Key, hide_credentials: false}
---
apiVersion: gatehouse.dev/v1alpha1
kind: GatehousePolicy
metadata: {name: limited}
spec:
  rate_limit:
    limits: [{name: per-ip, limit: 10, window: 1m, key: client_ip}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {value: /both}}]
    filters:
    - {type: ExtensionRef, extensionRef: {group: gatehouse.dev, kind: GatehousePolicy, name: strict}}
    - {type: ExtensionRef, extensionRef: {group: gatehouse.dev, kind: GatehousePolicy, name: limited}}
    backendRefs: [{name: svc, port: 80}]
  - matches: [{path: {value: /missing}}]
    filters:
    - {type: ExtensionRef, extensionRef: {group: gatehouse.dev, kind: GatehousePolicy, name: nosuch}}
    backendRefs: [{name: svc, port: 80}]
  - matches: [{path: {value: /twice}}]
    filters:
    - {type: ExtensionRef, extensionRef: {group: gatehouse.dev, kind: GatehousePolicy, name: strict}}
    - {type: ExtensionRef, extensionRef: {group: gatehouse.dev, kind: GatehousePolicy, name: strict}}
    backendRefs: [{name: svc, port: 80}]
  - matches: [{path: {value: /other}}]
    filters:
    - {type: ExtensionRef, extensionRef: {group: example.com, kind: Thing, name: x}}
    backendRefs: [{name: svc, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: 80}]}
`

// TestPolicyAttachment: ExtensionRef filters attach GatehousePolicy specs
// (merged key by key) to the rule's route; one that cannot be resolved,
// or two setting the same key, make the rule answer 500 and say why.
// Explicit values equal to a zero value survive the encoding.
func TestPolicyAttachment(t *testing.T) {
	objs, err := Decode("p.yaml", []byte(policyManifests))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{SecretDir: t.TempDir()})
	cfg := parse(t, res)
	both := findRoute(t, cfg, "httproute_default_r_0")
	p := both.Policies
	if p == nil || p.IPFilter == nil || p.APIKey == nil || p.RateLimit == nil || both.Backend == nil {
		t.Fatalf("route /both policies = %+v", p)
	}
	if p.APIKey.HideCredentials {
		t.Fatal("explicit hide_credentials: false became the default true")
	}
	for i, want := range map[int]string{1: "GatehousePolicy default/nosuch not found", 2: "both set ip_filter", 3: "ExtensionRef example.com/Thing is not supported"} {
		rt := findRoute(t, cfg, "httproute_default_r_"+string(rune('0'+i)))
		if rt.Respond == nil || rt.Respond.Status != 500 || rt.Policies != nil {
			t.Errorf("rule %d: %+v, want 500", i, rt)
		}
		found := false
		for _, e := range res.Errors {
			found = found || strings.Contains(e.Error(), want)
		}
		if !found {
			t.Errorf("rule %d: no error containing %q in %v", i, want, res.Errors)
		}
	}
	st, _ := res.Find("HTTPRoute", "default", "r", "")
	if c, ok := st.Condition("PartiallyInvalid"); !ok || c.Status != "True" {
		t.Errorf("route status = %+v", st)
	}
}

// TestPolicyDecodeErrors: a GatehousePolicy spec is checked by
// Gatehouse's own decoder, with the manifest file's line.
func TestPolicyDecodeErrors(t *testing.T) {
	for _, tc := range []struct{ doc, want string }{
		{"spec:\n  ip_filtr: {deny: [10.0.0.0/8]}\n", `p.yaml:5: unknown key "ip_filtr" in policies (did you mean "ip_filter"?)`},
		{"spec:\n  rate_limit:\n    limits: [{limit: many}]\n", "p.yaml:6:"},
		{"", "p.yaml:1: GatehousePolicy has no spec"},
		{"spec: {}\nstatus: {}\n", `p.yaml:5: GatehousePolicy: unknown field "status"`},
	} {
		doc := "apiVersion: gatehouse.dev/v1alpha1\nkind: GatehousePolicy\nmetadata: {name: p}\n" + tc.doc
		_, err := Decode("p.yaml", []byte(doc))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err = %v, want %q", tc.doc, err, tc.want)
		}
	}
}
