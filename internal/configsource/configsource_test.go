package configsource

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

const gatewayAndRoute = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: any
  listeners: [{name: http, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: api, port: 8080}]}]
`

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLoadMixed: Gatehouse YAML and manifests in one directory make one
// configuration; the kubernetes section moves the bound port, and a
// Service named like a Gatehouse upstream forwards there (no Service
// object needed).
func TestLoadMixed(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"gatehouse.yaml": `kubernetes: {listen_host: 127.0.0.1, port_offset: 8000}
upstreams: [{name: api, targets: [{url: "http://10.0.0.1:9000"}]}]
`,
		"routes.yaml": gatewayAndRoute,
	})
	cfg, res, err := Load(dir, kubernetes.Options{SecretDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("translation errors: %v", res.Errors)
	}
	if len(cfg.Listeners) != 1 || cfg.Listeners[0].Address != "127.0.0.1:8080" {
		t.Fatalf("listeners = %+v", cfg.Listeners[0])
	}
	if len(cfg.Routes) != 1 || cfg.Routes[0].Backend == nil || cfg.Routes[0].Backend.Upstream != "api" {
		t.Fatalf("route = %+v", cfg.Routes[0])
	}
	if len(cfg.Files) != 1 || filepath.Base(cfg.Files[0]) != "gatehouse.yaml" {
		t.Fatalf("Files = %v (generated text must not be watched)", cfg.Files)
	}
}

// TestLoadWithoutManifests is config.Load.
func TestLoadWithoutManifests(t *testing.T) {
	dir := writeDir(t, map[string]string{"a.yaml": `listeners: [{name: a, address: "127.0.0.1:1"}]` + "\n"})
	cfg, res, err := Load(dir, kubernetes.Options{})
	if err != nil || res != nil || len(cfg.Listeners) != 1 {
		t.Fatalf("cfg %v res %v err %v", cfg, res, err)
	}
}

// TestLoadErrors: a manifest that does not decode is an error at its
// file:line; a Gateway port that a Gatehouse listener also binds is
// refused when the whole is validated.
func TestLoadErrors(t *testing.T) {
	dir := writeDir(t, map[string]string{"routes.yaml": strings.Replace(gatewayAndRoute, "protocol: HTTP}", "protocol: HTTP, bogus: 1}", 1)})
	_, _, err := Load(dir, kubernetes.Options{SecretDir: t.TempDir()})
	var errs config.Errors
	if !errors.As(err, &errs) || !strings.Contains(err.Error(), "routes.yaml:6") {
		t.Fatalf("err = %v, want a config error at routes.yaml:6", err)
	}

	dir = writeDir(t, map[string]string{
		"gatehouse.yaml": `listeners: [{name: mine, address: ":80"}]` + "\n",
		"routes.yaml":    gatewayAndRoute,
	})
	_, _, err = Load(dir, kubernetes.Options{SecretDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), ":80") {
		t.Fatalf("err = %v, want the shared address refused", err)
	}
}
