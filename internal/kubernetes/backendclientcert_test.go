package kubernetes

import (
	"path/filepath"
	"strings"
	"testing"
)

const backendClientCertManifests = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: x
  listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}]
  tls:
    backend:
      clientCertificateRef: {group: "", kind: Secret, name: client}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  hostnames: [abc.example.com]
  rules:
  - backendRefs: [{name: tls-svc, port: 443}]
  - backendRefs: [{name: plain, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata: {name: g}
spec:
  parentRefs: [{name: gw}]
  rules:
  - backendRefs: [{name: tls-svc, port: 443}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: BackendTLSPolicy
metadata: {name: p}
spec:
  targetRefs: [{group: "", kind: Service, name: tls-svc}]
  validation:
    caCertificateRefs: [{group: "", kind: ConfigMap, name: ca}]
    hostname: abc.example.com
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
spec: {ports: [{name: https, port: 443}]}
---
apiVersion: v1
kind: Service
metadata: {name: plain}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: Secret
metadata: {name: client}
type: kubernetes.io/tls
stringData:
  tls.crt: CLIENT_CRT
  tls.key: CLIENT_KEY
`

// TestBackendClientCertificate: a Gateway's tls.backend
// clientCertificateRef is presented by the TLS upstreams of the HTTPRoute
// and GRPCRoute rules attached to it, not by plain HTTP ones, and the
// Gateway is ResolvedRefs True (GatewayTLSBackendClientCertificate).
func TestBackendClientCertificate(t *testing.T) {
	ca, _ := selfSigned(t, "ca")
	crt, key := selfSigned(t, "client")
	m := strings.NewReplacer("CA_PEM", indentPEM(ca, "    "), "CLIENT_CRT", indentPEM(crt, "    "), "CLIENT_KEY", indentPEM(key, "    ")).Replace(backendClientCertManifests)
	objs, err := Decode("bcc.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	res := Translate(objs, Options{SecretDir: dir})
	cfg := parse(t, res)
	certFile, keyFile := filepath.Join(dir, "default_client.crt"), filepath.Join(dir, "default_client.key")
	for _, name := range []string{"httproute_default_r_0", "grpcroute_default_g_0"} {
		u := findUpstream(t, cfg, name)
		if u.TLS == nil || u.TLS.CertFile != certFile || u.TLS.KeyFile != keyFile {
			t.Errorf("%s tls %+v, want cert %s key %s", name, u.TLS, certFile, keyFile)
		}
	}
	if u := findUpstream(t, cfg, "httproute_default_r_1"); u.TLS != nil {
		t.Errorf("plain upstream got tls %+v", u.TLS)
	}
	if string(res.Files[certFile]) != crt || string(res.Files[keyFile]) != key {
		t.Error("client certificate files do not hold the Secret's pair")
	}
	wantCond(t, res, "Gateway", "default", "gw", "", "ResolvedRefs", "True", "ResolvedRefs")
	wantCond(t, res, "Gateway", "default", "gw", "", "Accepted", "True", "Accepted")
	wantCond(t, res, "BackendTLSPolicy", "default", "p", "Gateway default/gw", "Accepted", "True", "Accepted")
}

// TestBackendClientCertificateInvalid: the refs of
// GatewayInvalidTLSBackendConfiguration leave the Gateway Accepted with
// ResolvedRefs False and the given reason, and its TLS upstreams present
// no certificate; a ReferenceGrant makes a cross-namespace Secret usable.
func TestBackendClientCertificateInvalid(t *testing.T) {
	ca, _ := selfSigned(t, "ca")
	crt, key := selfSigned(t, "client")
	for name, tc := range map[string]struct{ ref, extra, reason string }{
		"nonexistent": {`{group: "", kind: Secret, name: nonexistent}`, "", "InvalidClientCertificateRef"},
		"group":       {`{group: wrong.group.company.io, kind: Secret, name: client}`, "", "InvalidClientCertificateRef"},
		"kind":        {`{group: "", kind: WrongKind, name: client}`, "", "InvalidClientCertificateRef"},
		"malformed":   {`{group: "", kind: Secret, name: malformed}`, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: malformed}\ntype: Opaque\ndata: {}\n", "InvalidClientCertificateRef"},
		"no grant":    {`{group: "", kind: Secret, name: client, namespace: web}`, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: client, namespace: web}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: CLIENT_CRT\n  tls.key: CLIENT_KEY\n", "RefNotPermitted"},
		"granted":     {`{group: "", kind: Secret, name: client, namespace: web}`, "---\napiVersion: v1\nkind: Secret\nmetadata: {name: client, namespace: web}\ntype: kubernetes.io/tls\nstringData:\n  tls.crt: CLIENT_CRT\n  tls.key: CLIENT_KEY\n---\napiVersion: gateway.networking.k8s.io/v1beta1\nkind: ReferenceGrant\nmetadata: {name: g, namespace: web}\nspec:\n  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: default}]\n  to: [{group: \"\", kind: Secret}]\n", ""},
	} {
		t.Run(name, func(t *testing.T) {
			m := strings.Replace(backendClientCertManifests, `{group: "", kind: Secret, name: client}`, tc.ref, 1) + tc.extra
			m = strings.NewReplacer("CA_PEM", indentPEM(ca, "    "), "CLIENT_CRT", indentPEM(crt, "    "), "CLIENT_KEY", indentPEM(key, "    ")).Replace(m)
			objs, err := Decode("bcc.yaml", []byte(m))
			if err != nil {
				t.Fatal(err)
			}
			res := Translate(objs, Options{SecretDir: t.TempDir()})
			cfg := parse(t, res)
			u := findUpstream(t, cfg, "httproute_default_r_0")
			wantCond(t, res, "Gateway", "default", "gw", "", "Accepted", "True", "Accepted")
			if tc.reason == "" {
				wantCond(t, res, "Gateway", "default", "gw", "", "ResolvedRefs", "True", "ResolvedRefs")
				if u.TLS.CertFile == "" {
					t.Error("granted Secret not presented")
				}
				return
			}
			wantCond(t, res, "Gateway", "default", "gw", "", "ResolvedRefs", "False", tc.reason)
			if u.TLS.CertFile != "" || u.TLS.KeyFile != "" {
				t.Errorf("invalid ref still presented: %+v", u.TLS)
			}
			if len(res.Errors) == 0 {
				t.Error("invalid ref not reported in Errors")
			}
		})
	}
}

// TestBackendClientCertificateListenersNotResolved: with a usable client
// certificate, a listener whose references do not resolve makes the
// Gateway's ResolvedRefs False/ListenersNotResolved.
func TestBackendClientCertificateListenersNotResolved(t *testing.T) {
	ca, _ := selfSigned(t, "ca")
	crt, key := selfSigned(t, "client")
	m := strings.Replace(backendClientCertManifests, "listeners: [{name: http, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: Same}}}]",
		"listeners: [{name: http, port: 80, protocol: HTTP}, {name: odd, port: 81, protocol: HTTP, allowedRoutes: {kinds: [{kind: TCPRoute}]}}]", 1)
	m = strings.NewReplacer("CA_PEM", indentPEM(ca, "    "), "CLIENT_CRT", indentPEM(crt, "    "), "CLIENT_KEY", indentPEM(key, "    ")).Replace(m)
	objs, err := Decode("bcc.yaml", []byte(m))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{SecretDir: t.TempDir()})
	parse(t, res)
	wantCond(t, res, "Gateway", "default", "gw", "odd", "ResolvedRefs", "False", "InvalidRouteKinds")
	wantCond(t, res, "Gateway", "default", "gw", "", "ResolvedRefs", "False", "ListenersNotResolved")
}
