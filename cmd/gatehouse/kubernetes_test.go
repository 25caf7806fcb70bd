package main

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	k8s "github.com/gatehouse/gatehouse/internal/kubernetes"
)

// TestKubernetesFlags: run --kubernetes fails clearly without a cluster
// to talk to and with manifests in -c (they belong in the cluster).
func TestKubernetesFlags(t *testing.T) {
	var stderr bytes.Buffer
	missing := filepath.Join(t.TempDir(), "absent-kubeconfig")
	if code := run([]string{"run", "--kubernetes", "--kubeconfig", missing}, io.Discard, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "gatehouse: kubernetes:") || !strings.Contains(stderr.String(), "absent-kubeconfig") {
		t.Errorf("missing kubeconfig: exit %d, %q", code, stderr.String())
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "route.yaml"), []byte("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"), 0o644)
	stderr.Reset()
	if code := run([]string{"run", "--kubernetes", "-c", dir}, io.Discard, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "read from the cluster") {
		t.Errorf("manifest in -c: exit %d, %q", code, stderr.String())
	}

	addrs, ips := statusAddresses("10.0.0.5, gw.example.com,,2001:db8::1")
	if len(addrs) != 3 || *addrs[1].Type != "Hostname" || *addrs[0].Type != "IPAddress" || strings.Join(ips, " ") != "10.0.0.5 2001:db8::1" {
		t.Errorf("statusAddresses: %+v %v", addrs, ips)
	}
}

// TestKubeModeBuild is the controller's Build as the command wires it:
// nothing to serve is not an error (statuses are still written); the
// first snapshot with a Gateway starts the gateway, which proxies to the
// Service's endpoint; an edited route reloads it.
func TestKubeModeBuild(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backend %s", r.URL.Path)
	}))
	defer backend.Close()
	_, bport, _ := net.SplitHostPort(backend.Listener.Addr().String())
	port := freePort(t)

	dir := t.TempDir()
	base := filepath.Join(dir, "base.yaml")
	os.WriteFile(base, []byte("kubernetes: {listen_host: 127.0.0.1}\nlog: {level: error}\n"), 0o644)
	km, err := newKubeMode(kubeFlags{path: base})
	if err != nil {
		t.Fatal(err)
	}
	defer km.cleanup()

	res, err := km.build(decode(t, classYAML))
	if err != nil || km.started {
		t.Fatalf("class only: %v, started %v", err, km.started)
	}
	if st, ok := res.Find("GatewayClass", "", "gatehouse", ""); !ok || len(st.Conditions) == 0 || st.Conditions[0].Status != "True" {
		t.Errorf("GatewayClass status %+v", res.Statuses)
	}

	objs := decode(t, classYAML+"---\n"+fmt.Sprintf(clusterYAML, port, "/", bport))
	if _, err := km.build(objs); err != nil || !km.started {
		t.Fatalf("first build: %v, started %v", err, km.started)
	}
	defer km.gw.Shutdown()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if code, body := httpGet(t, url+"/x"); code != 200 || body != "backend /x" {
		t.Fatalf("GET /x: %d %q", code, body)
	}

	objs = decode(t, classYAML+"---\n"+fmt.Sprintf(clusterYAML, port, "/v2", bport))
	if _, err := km.build(objs); err != nil {
		t.Fatal(err)
	}
	if code, _ := httpGet(t, url+"/x"); code != 404 {
		t.Errorf("GET /x after the edit: %d, want 404", code)
	}
	if code, body := httpGet(t, url+"/v2/y"); code != 200 || body != "backend /v2/y" {
		t.Errorf("GET /v2/y: %d %q", code, body)
	}
}

const classYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: gatehouse}
spec: {controllerName: gatehouse.dev/gateway-controller}
`

// clusterYAML: a Gateway on port %d, a route for prefix %s to Service
// echo, whose EndpointSlice points at 127.0.0.1:%s.
const clusterYAML = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gatehouse
  listeners: [{name: http, port: %d, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
  - matches: [{path: {type: PathPrefix, value: %s}}]
    backendRefs: [{name: echo, port: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec: {ports: [{name: http, port: 80}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: echo-1, namespace: default, labels: {kubernetes.io/service-name: echo}}
addressType: IPv4
endpoints: [{addresses: [127.0.0.1], conditions: {ready: true}}]
ports: [{name: http, port: %s}]
`

// decode turns manifests into objects as the controller hands them over
// (typed, Line 0).
func decode(t *testing.T, yaml string) []k8s.Object {
	t.Helper()
	objs, err := k8s.Decode("cluster", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	for i := range objs {
		objs[i].Line = 0
	}
	return objs
}

// freePort returns a port nobody listens on, below the kernel's
// ephemeral range: one in it (as ":0" gives) can be taken by an outgoing
// connection between this check and the gateway's bind.
func freePort(t *testing.T) int {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11024 {
				low = n
			}
		}
	}
	for range 200 {
		port := 10000 + rand.IntN(low-10000)
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		ln.Close()
		return port
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// TestKubeControllerConfig: the downward-API variables fill the
// controller's identity, Lease namespace and status address, flags win
// over them, and the controllerName is the one the translation serves
// (flag, else -c's kubernetes.controller_name).
func TestKubeControllerConfig(t *testing.T) {
	t.Setenv("POD_NAME", "gatehouse-7d9f-abc")
	t.Setenv("POD_NAMESPACE", "gatehouse-system")
	t.Setenv("POD_IP", "10.1.2.3")
	base := filepath.Join(t.TempDir(), "base.yaml")
	os.WriteFile(base, []byte("kubernetes: {controller_name: example.com/gw}\n"), 0o644)
	km, err := newKubeMode(kubeFlags{path: base})
	if err != nil {
		t.Fatal(err)
	}
	defer km.cleanup()

	cfg := km.controllerConfig(kubeFlags{path: base, namespaces: "a, b"})
	if cfg.Identity != "gatehouse-7d9f-abc" || cfg.LeaseNamespace != "gatehouse-system" || cfg.ControllerName != "example.com/gw" ||
		len(cfg.Addresses) != 1 || cfg.Addresses[0].Value != "10.1.2.3" || strings.Join(cfg.IngressIPs, ",") != "10.1.2.3" ||
		strings.Join(cfg.Namespaces, ",") != "a,b" {
		t.Errorf("from the environment: %+v", cfg)
	}
	cfg = km.controllerConfig(kubeFlags{path: base, controllerName: "flag.example/gw", leaseNamespace: "ops", addresses: "lb.example.com"})
	if cfg.ControllerName != "flag.example/gw" || km.ctlName != "flag.example/gw" || cfg.LeaseNamespace != "ops" ||
		len(cfg.Addresses) != 1 || cfg.Addresses[0].Value != "lb.example.com" || len(cfg.IngressIPs) != 0 {
		t.Errorf("from flags: %+v", cfg)
	}
}
