package kubernetes

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const backendTLSManifests = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  listeners: [{name: web, protocol: HTTP, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: tls-svc, port: 443}]
  - backendRefs: [{name: sys-svc, port: 443}]
  - backendRefs: [{name: bad-ca-svc, port: 443}]
  - backendRefs: [{name: kind-svc, port: 443}]
  - backendRefs: [{name: conflict-svc, port: 443}]
  - backendRefs: [{name: plain, port: 80}, {name: tls-svc, port: 443}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca}
data:
  ca.crt: CA_PEM
---
apiVersion: v1
kind: Service
metadata: {name: tls-svc}
spec: {ports: [{name: btls, port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: sys-svc}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: bad-ca-svc}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: kind-svc}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: conflict-svc}
spec: {ports: [{port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: plain}
spec: {ports: [{port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: normative}
spec:
  targetRefs: [{group: "", kind: Service, name: tls-svc, sectionName: btls}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
    hostname: abc.example.com
    subjectAltNames:
    - {type: Hostname, hostname: backend.internal}
    - {type: URI, uri: "spiffe://cluster.local/ns/default/sa/backend"}
---
apiVersion: gateway.networking.k8s.io/v1alpha3
kind: BackendTLSPolicy
metadata: {name: system}
spec:
  targetRefs: [{group: "", kind: Service, name: sys-svc}]
  validation: {wellKnownCACertificates: System, hostname: sys.example.com}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: nonexistent}
spec:
  targetRefs: [{group: "", kind: Service, name: bad-ca-svc}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: missing}]
    hostname: abc.example.com
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: invalid-kind}
spec:
  targetRefs: [{group: "", kind: Service, name: kind-svc}]
  validation:
    caCertificateRefs: [{group: invalid.io, kind: InvalidKind, name: x}]
    hostname: abc.example.com
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: a-newer, creationTimestamp: "2026-01-02T00:00:00Z"}
spec:
  targetRefs: [{group: "", kind: Service, name: conflict-svc}]
  validation: {wellKnownCACertificates: System, hostname: newer.example.com}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: z-older, creationTimestamp: "2026-01-01T00:00:00Z"}
spec:
  targetRefs: [{group: "", kind: Service, name: conflict-svc}]
  validation: {wellKnownCACertificates: System, hostname: older.example.com}
`

// TestBackendTLSPolicy: a policy makes its Service's targets https with
// server_name, ca_file (from the ConfigMap, written to Result.Files) or
// the system roots, and subject_alt_names; invalid CA references fail
// closed (the rule answers 500) with the spec's reasons; the older of two
// conflicting policies wins; statuses are per ancestor Gateway.
func TestBackendTLSPolicy(t *testing.T) {
	crt, _ := selfSigned(t, "ca.example")
	dir := t.TempDir()
	objs, err := Decode("btls.yaml", []byte(strings.Replace(backendTLSManifests, "CA_PEM", indentPEM(crt, "    "), 1)))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{SecretDir: dir})
	cfg := parse(t, res)

	u := findUpstream(t, cfg, "httproute_default_r_0")
	caFile := filepath.Join(dir, "backendtls_default_normative.crt")
	if u.Targets[0].URL != "https://tls-svc.default.svc:443" || u.TLS == nil || u.TLS.ServerName != "abc.example.com" || u.TLS.CAFile != caFile ||
		!slices.Equal(u.TLS.SubjectAltNames, []string{"backend.internal", "spiffe://cluster.local/ns/default/sa/backend"}) {
		t.Errorf("normative: targets %s tls %+v", u.Targets[0].URL, u.TLS)
	}
	if string(res.Files[caFile]) != crt {
		t.Errorf("CA file content %q", res.Files[caFile])
	}
	if u := findUpstream(t, cfg, "httproute_default_r_1"); u.Targets[0].URL != "https://sys-svc.default.svc:443" || u.TLS.ServerName != "sys.example.com" || u.TLS.CAFile != "" {
		t.Errorf("system: %s %+v", u.Targets[0].URL, u.TLS)
	}
	for _, n := range []string{"httproute_default_r_2", "httproute_default_r_3"} {
		if r := findRoute(t, cfg, n); r.Respond == nil || r.Respond.Status != 500 {
			t.Errorf("%s: backend behind an unusable policy must fail closed, got %+v %+v", n, r.Respond, r.Backend)
		}
	}
	if u := findUpstream(t, cfg, "httproute_default_r_4"); u.TLS.ServerName != "older.example.com" {
		t.Errorf("conflict: %+v, want the older policy's", u.TLS)
	}
	u = findUpstream(t, cfg, "httproute_default_r_5")
	if len(u.Targets) != 2 || u.Targets[0].URL != "http://plain.default.svc:80" || u.Targets[1].URL != "https://tls-svc.default.svc:443" || u.TLS.ServerName != "abc.example.com" {
		t.Errorf("mixed: %v %+v", u.Targets, u.TLS)
	}

	const gw = "Gateway default/gw"
	wantCond(t, res, "BackendTLSPolicy", "default", "normative", gw, "Accepted", "True", "Accepted")
	wantCond(t, res, "BackendTLSPolicy", "default", "normative", gw, "ResolvedRefs", "True", "ResolvedRefs")
	wantCond(t, res, "BackendTLSPolicy", "default", "system", gw, "Accepted", "True", "Accepted")
	wantCond(t, res, "BackendTLSPolicy", "default", "nonexistent", gw, "Accepted", "False", "NoValidCACertificate")
	wantCond(t, res, "BackendTLSPolicy", "default", "nonexistent", gw, "ResolvedRefs", "False", "InvalidCACertificateRef")
	wantCond(t, res, "BackendTLSPolicy", "default", "invalid-kind", gw, "Accepted", "False", "NoValidCACertificate")
	wantCond(t, res, "BackendTLSPolicy", "default", "invalid-kind", gw, "ResolvedRefs", "False", "InvalidKind")
	wantCond(t, res, "BackendTLSPolicy", "default", "z-older", gw, "Accepted", "True", "Accepted")
	wantCond(t, res, "BackendTLSPolicy", "default", "a-newer", gw, "Accepted", "False", "Conflicted")
}

// TestBackendTLSPolicyInvalid: values the CRD would refuse make the
// policy Accepted=False/Invalid, and its Service still fails closed.
func TestBackendTLSPolicyInvalid(t *testing.T) {
	for name, validation := range map[string]string{
		"both":      `{wellKnownCACertificates: System, caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}], hostname: a.example.com}`,
		"neither":   `{hostname: a.example.com}`,
		"wellknown": `{wellKnownCACertificates: example.com/mine, hostname: a.example.com}`,
		"hostname":  `{wellKnownCACertificates: System, hostname: "*.example.com"}`,
		"san uri":   `{wellKnownCACertificates: System, hostname: a.example.com, subjectAltNames: [{type: URI, uri: "no-scheme"}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			m := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec: {gatewayClassName: x, listeners: [{name: web, protocol: HTTP, port: 80}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec: {parentRefs: [{name: gw}], rules: [{backendRefs: [{name: s, port: 443}]}]}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 443}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p}
spec:
  targetRefs: [{group: "", kind: Service, name: s}]
  validation: ` + validation + "\n"
			objs, err := Decode("p.yaml", []byte(m))
			if err != nil {
				t.Fatal(err)
			}
			res := Translate(objs, Options{SecretDir: t.TempDir()})
			cfg := parse(t, res)
			wantCond(t, res, "BackendTLSPolicy", "default", "p", "Gateway default/gw", "Accepted", "False", "Invalid")
			if r := findRoute(t, cfg, "httproute_default_r_0"); r.Respond == nil || r.Respond.Status != 500 {
				t.Errorf("route %+v %+v, want 500", r.Respond, r.Backend)
			}
		})
	}
}

// TestBackendTLSPolicyApplyStatus: the per-ancestor statuses land in the
// policy's .status.ancestors through ApplyStatus.
func TestBackendTLSPolicyApplyStatus(t *testing.T) {
	crt, _ := selfSigned(t, "ca.example")
	objs, err := Decode("btls.yaml", []byte(strings.Replace(backendTLSManifests, "CA_PEM", indentPEM(crt, "    "), 1)))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{SecretDir: t.TempDir()})
	for _, o := range objs {
		p, ok := o.Obj.(*gwv1.BackendTLSPolicy)
		if !ok || p.Name != "a-newer" {
			continue
		}
		if !res.ApplyStatus(p, StatusOptions{Now: time.Unix(1000, 0)}) {
			t.Fatal("status not changed")
		}
		a := p.Status.Ancestors
		if len(a) != 1 || a[0].AncestorRef.Name != "gw" || len(a[0].Conditions) != 2 ||
			a[0].Conditions[0].Type != "Accepted" || a[0].Conditions[0].Reason != "Conflicted" {
			t.Errorf("ancestors %+v", a)
		}
		return
	}
	t.Fatal("policy a-newer not decoded")
}
