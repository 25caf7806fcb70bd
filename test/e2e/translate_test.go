package e2e

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// articleManifests are the Ingress and HTTPRoute of the articles behind
// the project, completed with a Gateway and a Service.
const articleManifests = `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: my-ingress}
spec:
  rules:
    - host: myapp.com
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: my-service, port: {number: 80}}}}
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: HTTPRoute
metadata: {name: my-route}
spec:
  parentRefs: [{name: my-gateway}]
  rules:
    - matches: [{path: {value: /v1/data}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            add: [{name: X-API-Key, value: secret-key}]
      backendRefs: [{name: my-service, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: my-gateway}
spec:
  gatewayClassName: gatehouse
  listeners: [{name: http, protocol: HTTP, port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: my-service}
spec:
  ports: [{port: 80}]
`

// TestTranslateCommand: "gatehouse translate" prints configuration that
// "gatehouse validate" accepts, with the statuses as comments; files of
// Gatehouse's own YAML in the directory are skipped; a bad manifest is
// exit 1 with file:line, the rest still printed.
func TestTranslateCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("article.yaml", articleManifests)
	write("gatehouse.yaml", "listeners:\n  - {name: own, address: 127.0.0.1:0}\n")
	code, out, errOut := runCommand(t, "translate", "-c", dir)
	if code != 0 {
		t.Fatalf("translate exit %d:\n%s", code, errOut)
	}
	for _, want := range []string{
		"HTTPRoute default/my-route [Gateway default/my-gateway]: Accepted=True",
		"X-API-Key: secret-key",
		"hosts:\n            - myapp.com",
		"url: http://my-service.default.svc:80",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("translate output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "name: own") {
		t.Errorf("the Gatehouse YAML file was translated too:\n%s", out)
	}
	translated := filepath.Join(t.TempDir(), "translated.yaml")
	if err := os.WriteFile(translated, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runValidate(t, translated); code != 0 {
		t.Errorf("validate of the translated configuration: exit %d\n%s", code, errOut)
	}

	write("bad.yaml", "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bad}\nspec:\n  rules:\n    - matchez: []\n")
	code, out, errOut = runCommand(t, "translate", "-c", dir)
	if code != 1 || !strings.Contains(errOut, filepath.Join(dir, "bad.yaml")+":6:") {
		t.Errorf("bad manifest: exit %d, stderr %q; want 1 and bad.yaml:6", code, errOut)
	}
	if !strings.Contains(out, "X-API-Key: secret-key") {
		t.Errorf("the good manifests were not printed beside the error:\n%s", out)
	}
}

// TestTranslateHTTPSSecret: an HTTPS Gateway listener's certificate comes
// from a kubernetes.io/tls Secret; the output validates (certificates
// checked in a scratch directory) and -secret-dir writes the PEM files
// the listener names.
func TestTranslateHTTPSSecret(t *testing.T) {
	t.Parallel()
	pki := newPKI(t, "shop.example.test")
	pair := pki.files["shop.example.test"]
	pem := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	dir := t.TempDir()
	manifests := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: shop}
spec:
  gatewayClassName: gatehouse
  listeners:
    - name: https
      protocol: HTTPS
      port: 8443
      hostname: shop.example.test
      tls: {mode: Terminate, certificateRefs: [{name: shop-cert}]}
---
apiVersion: v1
kind: Secret
metadata: {name: shop-cert}
type: kubernetes.io/tls
data:
  tls.crt: ` + pem(pair[0]) + `
  tls.key: ` + pem(pair[1]) + `
`
	if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(manifests), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCommand(t, "translate", "-c", dir)
	if code != 0 || !strings.Contains(out, "protocol: https") {
		t.Fatalf("translate: exit %d\n%s\n%s", code, errOut, out)
	}
	secrets := filepath.Join(t.TempDir(), "secrets")
	code, out, errOut = runCommand(t, "translate", "-c", dir, "-secret-dir", secrets)
	if code != 0 {
		t.Fatalf("translate -secret-dir: exit %d\n%s", code, errOut)
	}
	entries, err := os.ReadDir(secrets)
	if err != nil || len(entries) != 2 {
		t.Fatalf("secret dir holds %v (%v), want the certificate and key", entries, err)
	}
	translated := filepath.Join(t.TempDir(), "translated.yaml")
	if err := os.WriteFile(translated, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runValidate(t, translated); code != 0 {
		t.Errorf("validate of the translated HTTPS configuration: exit %d\n%s", code, errOut)
	}
}
