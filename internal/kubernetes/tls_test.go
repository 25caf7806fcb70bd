package kubernetes

import (
	"slices"
	"strings"
	"testing"
)

// TestIngressTLS: an Ingress tls entry puts the Secret's pair on the 443
// listener and attaches the Ingress routes to both listeners; a missing
// Secret is a located error.
func TestIngressTLS(t *testing.T) {
	crt, key := selfSigned(t, "myapp.com")
	m := `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  tls:
  - hosts: [myapp.com]
    secretName: web-tls
  - hosts: [other.com]
    secretName: absent
  rules:
  - host: myapp.com
    http:
      paths:
      - {path: /exact, pathType: Exact, backend: {service: {name: s, port: {number: 80}}}}
      - {path: /any, pathType: ImplementationSpecific, backend: {service: {name: s, port: {number: 80}}}}
---
apiVersion: v1
kind: Secret
metadata: {name: web-tls, namespace: shop}
type: kubernetes.io/tls
stringData:
  tls.crt: ` + indentPEM(crt, "    ") + `
  tls.key: ` + indentPEM(key, "    ") + `
---
apiVersion: v1
kind: Service
metadata: {name: s, namespace: shop}
spec: {ports: [{port: 80}]}
`
	objs, err := Decode("ing.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{SecretDir: t.TempDir()})
	cfg := parse(t, res)
	if len(cfg.Listeners) != 2 || cfg.Listeners[1].Name != "https-443" || len(cfg.Listeners[1].TLS.Certificates) != 1 {
		t.Fatalf("listeners %+v", cfg.Listeners)
	}
	r0 := findRoute(t, cfg, "ingress_shop_web_0_0")
	if !slices.Equal(r0.Listeners, []string{"http-80", "https-443"}) || r0.Match.Path.Exact != "/exact" {
		t.Errorf("route 0: %v %+v", r0.Listeners, r0.Match.Path)
	}
	if r1 := findRoute(t, cfg, "ingress_shop_web_0_1"); r1.Match.Path.Prefix != "/any" {
		t.Errorf("ImplementationSpecific: %+v", r1.Match.Path)
	}
	if len(res.Errors) != 1 || !strings.HasPrefix(res.Errors[0].Error(), "ing.yaml:1: Ingress shop/web: tls: Secret shop/absent not found") {
		t.Errorf("errors %v", res.Errors)
	}
}

// TestGatewayCertificateProblems: listener certificate problems are
// ResolvedRefs=False/InvalidCertificateRef, and a Gateway without any
// valid listener is not accepted.
func TestGatewayCertificateProblems(t *testing.T) {
	const m = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  listeners:
  - {name: missing, protocol: HTTPS, port: 443, hostname: a.example.com, tls: {certificateRefs: [{name: nope}]}}
  - {name: opaque, protocol: HTTPS, port: 443, hostname: b.example.com, tls: {certificateRefs: [{name: opaque}]}}
  - {name: none, protocol: HTTPS, port: 443, hostname: c.example.com}
  - {name: garbage, protocol: HTTPS, port: 443, hostname: d.example.com, tls: {certificateRefs: [{name: garbage}]}}
  - {name: passthrough-https, protocol: HTTPS, port: 8443, tls: {mode: Passthrough}}
---
apiVersion: v1
kind: Secret
metadata: {name: opaque}
type: Opaque
data: {a: YQ==}
---
apiVersion: v1
kind: Secret
metadata: {name: garbage}
type: kubernetes.io/tls
stringData: {tls.crt: x, tls.key: y}
`
	objs, err := Decode("gw.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	for _, l := range []string{"missing", "opaque", "none", "garbage"} {
		wantCond(t, res, "Gateway", "default", "gw", l, "ResolvedRefs", "False", "InvalidCertificateRef")
		wantCond(t, res, "Gateway", "default", "gw", l, "Programmed", "False", "Invalid")
		wantCond(t, res, "Gateway", "default", "gw", l, "Accepted", "True", "Accepted")
	}
	wantCond(t, res, "Gateway", "default", "gw", "passthrough-https", "Accepted", "False", "UnsupportedProtocol")
	wantCond(t, res, "Gateway", "default", "gw", "", "Accepted", "False", "ListenersNotValid")
	if len(res.Config.Listeners) != 0 {
		t.Errorf("listeners %+v", res.Config.Listeners)
	}
}

// TestIngressDefaultClass: an Ingress without class follows the default
// IngressClass when the objects hold one.
func TestIngressDefaultClass(t *testing.T) {
	const ing = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: plain}
spec: {defaultBackend: {service: {name: s, port: {number: 80}}}}
---
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: c
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: CONTROLLER}
`
	for controller, served := range map[string]bool{"example.net/nginx": false, DefaultIngressController: true} {
		objs, err := Decode("d.yaml", []byte(strings.Replace(ing, "CONTROLLER", controller, 1)))
		if err != nil {
			t.Fatal(err)
		}
		if got := len(Translate(objs, Options{}).Config.Routes) == 1; got != served {
			t.Errorf("default class of %s: served %v, want %v", controller, got, served)
		}
	}
}
