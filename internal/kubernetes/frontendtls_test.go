package kubernetes

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// frontendObjects are the Secret and ConfigMaps the frontend tests
// share: server certificate "server" and CA bundles "ca-1" (default
// namespace) and "ca-other" (namespace other).
const frontendObjects = `
---
apiVersion: v1
kind: Secret
metadata: {name: server}
type: kubernetes.io/tls
stringData:
  tls.crt: SERVER_CRT
  tls.key: SERVER_KEY
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca-1}
data:
  ca.crt: CA_1
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca-2}
data:
  ca.crt: CA_2
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ca-other, namespace: other}
data:
  ca.crt: CA_2
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: 8080}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: svc, port: 8080}]}]
`

// frontendTranslate decodes manifests (plus frontendObjects) with real
// PEM in place of the placeholders, translates them and checks that
// config.Parse accepts the result. It returns the PEM of CA_1 and CA_2.
func frontendTranslate(t *testing.T, manifests string) (*Result, *config.Config, string, string, string) {
	t.Helper()
	crt, key := selfSigned(t, "example.org")
	ca1, _ := selfSigned(t, "ca-1")
	ca2, _ := selfSigned(t, "ca-2")
	m := strings.NewReplacer("SERVER_CRT", indentPEM(crt, "    "), "SERVER_KEY", indentPEM(key, "    "),
		"CA_1", indentPEM(ca1, "    "), "CA_2", indentPEM(ca2, "    ")).Replace(manifests + frontendObjects)
	objs, err := Decode("frontend.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res := Translate(objs, Options{SecretDir: dir})
	return res, parse(t, res), dir, ca1, ca2
}

func findListener(t *testing.T, c *config.Config, name string) *config.Listener {
	t.Helper()
	for _, l := range c.Listeners {
		if l.Name == name {
			return l
		}
	}
	t.Fatalf("listener %q not found", name)
	return nil
}

func hasListener(c *config.Config, name string) bool {
	for _, l := range c.Listeners {
		if l.Name == name {
			return true
		}
	}
	return false
}

// TestFrontendValidation: default and perPort AllowValidOnly become
// client_auth require with each port's own CA bundle (written to
// Result.Files), as GatewayFrontendClientCertificateValidation expects.
func TestFrontendValidation(t *testing.T) {
	res, cfg, dir, ca1, ca2 := frontendTranslate(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{kind: ConfigMap, group: "", name: ca-1}]
      perPort:
      - port: 8443
        tls:
          validation:
            mode: AllowValidOnly
            caCertificateRefs: [{kind: ConfigMap, group: "", name: ca-2}]
  listeners:
  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
  - {name: https-with-hostname, port: 8443, hostname: second-example.org, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
  - {name: http, port: 80, protocol: HTTP}
`)
	for port, ca := range map[string]string{"443": ca1, "8443": ca2} {
		l := findListener(t, cfg, "https-"+port)
		want := filepath.Join(dir, "frontendca_default_gw_"+port+".crt")
		if l.TLS.ClientAuth == nil || l.TLS.ClientAuth.Mode != "require" || l.TLS.ClientAuth.CAFile != want {
			t.Errorf("https-%s client_auth %+v, want require %s", port, l.TLS.ClientAuth, want)
		}
		if string(res.Files[want]) != ca {
			t.Errorf("%s holds %q", want, res.Files[want])
		}
	}
	if l := findListener(t, cfg, "http-80"); l.TLS != nil {
		t.Errorf("http listener got tls %+v", l.TLS)
	}
	for _, l := range []string{"https", "https-with-hostname", "http"} {
		wantCond(t, res, "Gateway", "default", "gw", l, "Accepted", "True", "Accepted")
		wantCond(t, res, "Gateway", "default", "gw", l, "ResolvedRefs", "True", "ResolvedRefs")
		wantCond(t, res, "Gateway", "default", "gw", l, "Programmed", "True", "Programmed")
	}
	if s, _ := res.Find("Gateway", "default", "gw", ""); len(s.Conditions) != 2 {
		t.Errorf("Gateway conditions %+v, want only Accepted and Programmed", s.Conditions)
	}
}

// TestFrontendInsecureFallback: AllowInsecureFallback lets any client in
// (no client_auth: a certificate failing validation must pass) and sets
// InsecureFrontendValidationMode on the Gateway.
func TestFrontendInsecureFallback(t *testing.T) {
	res, cfg, _, _, _ := frontendTranslate(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  tls:
    frontend:
      default:
        validation:
          mode: AllowInsecureFallback
          caCertificateRefs: [{kind: ConfigMap, group: "", name: ca-1}]
  listeners:
  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
`)
	if l := findListener(t, cfg, "https-443"); l.TLS.ClientAuth != nil {
		t.Errorf("client_auth %+v, want none", l.TLS.ClientAuth)
	}
	wantCond(t, res, "Gateway", "default", "gw", "", "InsecureFrontendValidationMode", "True", "ConfigurationChanged")
	wantCond(t, res, "Gateway", "default", "gw", "https", "Accepted", "True", "Accepted")
}

// TestFrontendInvalidRefs: the listener conditions of
// GatewayInvalidFrontendClientCertificateValidation (missing ConfigMap,
// wrong kind), a granted cross-namespace
// ConfigMap, and a partly valid list (ResolvedRefs False, still served).
func TestFrontendInvalidRefs(t *testing.T) {
	res, cfg, _, ca1, _ := frontendTranslate(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{kind: ConfigMap, group: "", name: ca-1}]
      perPort:
      - {port: 7443, tls: {validation: {caCertificateRefs: [{kind: ConfigMap, group: "", name: non-existing}]}}}
      - {port: 8443, tls: {validation: {caCertificateRefs: [{kind: Service, group: "", name: svc}]}}}
      - {port: 5443, tls: {validation: {caCertificateRefs: [{kind: ConfigMap, group: "", name: ca-other, namespace: other}]}}}
      - {port: 4443, tls: {validation: {caCertificateRefs: [{kind: ConfigMap, group: "", name: missing}, {kind: ConfigMap, group: "", name: ca-1}]}}}
  listeners:
  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
  - {name: https-unresolved, port: 7443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
  - {name: https-invalid-kind, port: 8443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
  - {name: https-granted, port: 5443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
  - {name: https-partial, port: 4443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}]
  to: [{group: "", kind: ConfigMap, name: ca-other}]
`)
	wantCond(t, res, "Gateway", "default", "gw", "https", "Accepted", "True", "Accepted")
	wantCond(t, res, "Gateway", "default", "gw", "https", "ResolvedRefs", "True", "ResolvedRefs")
	for l, reason := range map[string]string{"https-unresolved": "InvalidCACertificateRef", "https-invalid-kind": "InvalidCACertificateKind"} {
		wantCond(t, res, "Gateway", "default", "gw", l, "ResolvedRefs", "False", reason)
		wantCond(t, res, "Gateway", "default", "gw", l, "Accepted", "False", "NoValidCACertificate")
		wantCond(t, res, "Gateway", "default", "gw", l, "Programmed", "False", "Invalid")
	}
	for _, name := range []string{"https-7443", "https-8443"} {
		if hasListener(cfg, name) {
			t.Errorf("%s is served although its validation has no usable CA", name)
		}
	}
	// The missing-grant case is in TestFrontendRefNotPermitted.
	wantCond(t, res, "Gateway", "default", "gw", "https-granted", "Accepted", "True", "Accepted")
	wantCond(t, res, "Gateway", "default", "gw", "https-partial", "ResolvedRefs", "False", "InvalidCACertificateRef")
	wantCond(t, res, "Gateway", "default", "gw", "https-partial", "Accepted", "True", "Accepted")
	if l := findListener(t, cfg, "https-4443"); l.TLS.ClientAuth == nil || string(res.Files[l.TLS.ClientAuth.CAFile]) != ca1 {
		t.Errorf("partial: client_auth %+v, want the usable ca-1", l.TLS.ClientAuth)
	}
	wantCond(t, res, "Gateway", "default", "gw", "", "Accepted", "True", "ListenersNotValid")
}

// TestFrontendRefNotPermitted: a cross-namespace CA ConfigMap without a
// ReferenceGrant for Gateways is RefNotPermitted / NoValidCACertificate.
func TestFrontendRefNotPermitted(t *testing.T) {
	res, cfg, _, _, _ := frontendTranslate(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{kind: ConfigMap, group: "", name: ca-other, namespace: other}]
  listeners:
  - {name: https-grant-missing, port: 6443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
  - {name: http, port: 80, protocol: HTTP}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: routes-only, namespace: other}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: "", kind: ConfigMap}]
`)
	wantCond(t, res, "Gateway", "default", "gw", "https-grant-missing", "ResolvedRefs", "False", "RefNotPermitted")
	wantCond(t, res, "Gateway", "default", "gw", "https-grant-missing", "Accepted", "False", "NoValidCACertificate")
	if hasListener(cfg, "https-6443") {
		t.Error("https-6443 is served without its CA")
	}
}

// TestFrontendInvalidDefaultOnlyHTTPS: an unusable default validation
// refuses the HTTPS listener only; the HTTP listener (even with a perPort
// entry for its port) serves the route
// (GatewayFrontendInvalidDefaultClientCertificateValidation).
func TestFrontendInvalidDefaultOnlyHTTPS(t *testing.T) {
	res, cfg, _, _, _ := frontendTranslate(t, `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  tls:
    frontend:
      default:
        validation:
          caCertificateRefs: [{kind: ConfigMap, group: "", name: does-not-exist}]
      perPort:
      - {port: 80, tls: {validation: {caCertificateRefs: [{kind: ConfigMap, group: "", name: ca-1}]}}}
  listeners:
  - {name: https, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: server}]}}
  - {name: http, port: 80, protocol: HTTP}
`)
	wantCond(t, res, "Gateway", "default", "gw", "http", "Accepted", "True", "Accepted")
	wantCond(t, res, "Gateway", "default", "gw", "http", "ResolvedRefs", "True", "ResolvedRefs")
	wantCond(t, res, "Gateway", "default", "gw", "http", "Programmed", "True", "Programmed")
	wantCond(t, res, "Gateway", "default", "gw", "https", "ResolvedRefs", "False", "InvalidCACertificateRef")
	wantCond(t, res, "Gateway", "default", "gw", "https", "Accepted", "False", "NoValidCACertificate")
	wantCond(t, res, "Gateway", "default", "gw", "https", "Programmed", "False", "Invalid")
	if hasListener(cfg, "https-443") {
		t.Error("https-443 is served without its CA")
	}
	if l := findListener(t, cfg, "http-80"); l.TLS != nil {
		t.Errorf("http-80 got tls %+v", l.TLS)
	}
	if r := findRoute(t, cfg, "httproute_default_r_0"); len(r.Listeners) != 1 || r.Listeners[0] != "http-80" {
		t.Errorf("route listeners %v, want [http-80]", r.Listeners)
	}
}

// TestFrontendSharedPort: Gateways share Gatehouse's socket per port; the
// oldest Gateway's validation wins and a younger Gateway asking another
// one is refused on that port (PortUnavailable), whichever asks for it.
func TestFrontendSharedPort(t *testing.T) {
	const m = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: mtls, creationTimestamp: "MTLS_TIME"}
spec:
  gatewayClassName: x
  tls: {frontend: {default: {validation: {caCertificateRefs: [{kind: ConfigMap, group: "", name: ca-1}]}}}}
  listeners:
  - {name: https, port: 443, protocol: HTTPS, hostname: a.example, tls: {certificateRefs: [{name: server}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: plain, creationTimestamp: "PLAIN_TIME"}
spec:
  gatewayClassName: x
  listeners:
  - {name: https, port: 443, protocol: HTTPS, hostname: b.example, tls: {certificateRefs: [{name: server}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec: {gatewayClassName: x, listeners: [{name: http, port: 80, protocol: HTTP}]}
`
	const older, newer = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
	t.Run("validating Gateway older", func(t *testing.T) {
		res, cfg, _, _, _ := frontendTranslate(t, strings.NewReplacer("MTLS_TIME", older, "PLAIN_TIME", newer).Replace(m))
		if l := findListener(t, cfg, "https-443"); l.TLS.ClientAuth == nil {
			t.Error("https-443 has no client_auth although the older Gateway asks for it")
		}
		wantCond(t, res, "Gateway", "default", "mtls", "https", "Accepted", "True", "Accepted")
		wantCond(t, res, "Gateway", "default", "plain", "https", "Accepted", "False", "PortUnavailable")
		wantCond(t, res, "Gateway", "default", "plain", "https", "Programmed", "False", "Invalid")
	})
	t.Run("validating Gateway newer", func(t *testing.T) {
		res, cfg, _, _, _ := frontendTranslate(t, strings.NewReplacer("MTLS_TIME", newer, "PLAIN_TIME", older).Replace(m))
		if l := findListener(t, cfg, "https-443"); l.TLS.ClientAuth != nil {
			t.Errorf("https-443 client_auth %+v, want none (the older Gateway asks none)", l.TLS.ClientAuth)
		}
		wantCond(t, res, "Gateway", "default", "plain", "https", "Accepted", "True", "Accepted")
		wantCond(t, res, "Gateway", "default", "mtls", "https", "Accepted", "False", "PortUnavailable")
		if len(res.Errors) == 0 {
			t.Error("the refused listener is not reported in Errors")
		}
	})
}
