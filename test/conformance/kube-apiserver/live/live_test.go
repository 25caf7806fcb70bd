// Package live runs Gatehouse's Kubernetes controller against a real API
// server: kube-apiserver and etcd built from the Go module proxy
// (k8s.io/kubernetes v1.37.2, go.etcd.io/etcd/server/v3), started on
// loopback by this test. test/conformance/kube-apiserver.sh builds the
// binaries and runs it; the paths come from KUBE_APISERVER, ETCD and
// GATEHOUSE.
//
// What it proves, with two gatehouse replicas (run --kubernetes) on one
// cluster: the Gateway API CRDs of v1.6.3 accept what Gatehouse writes
// (statuses through the real status subresource and schema validation);
// the leader writes status while both serve; the HTTPRoute's header
// reaches the backend through both; a rotated TLS Secret is served
// without restart; when the leader stops, the other takes the Lease and
// writes the next status.
package live

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiext "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	"sigs.k8s.io/yaml"
)

const token = "gatehouse-live-test-token"

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Skipf("%s not set: run test/conformance/kube-apiserver.sh", name)
	}
	return v
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitFor polls cond every 100 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// proc is a started program whose output is kept for failures.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
}

// syncBuffer is a bytes.Buffer safe for the process's writes and the
// test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

func start(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("%s output (last 3000 bytes):\n%s", name, tail(p.out.String(), 3000))
		}
	})
	return p
}

func (p *proc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// cluster starts etcd and kube-apiserver and returns a client config.
func cluster(t *testing.T) (*rest.Config, string) {
	dir := t.TempDir()
	etcdPort, peerPort, apiPort := freePort(t), freePort(t), freePort(t)
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", etcdPort)
	etcd := start(t, "etcd", nil, env(t, "ETCD"), "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", etcdURL, "--advertise-client-urls", etcdURL,
		"--listen-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-advertise-peer-urls", fmt.Sprintf("http://127.0.0.1:%d", peerPort),
		"--initial-cluster", fmt.Sprintf("default=http://127.0.0.1:%d", peerPort))
	if !waitFor(60*time.Second, func() bool {
		if etcd.exited() {
			t.Fatal("etcd exited")
		}
		resp, err := http.Get(etcdURL + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}) {
		t.Fatal("etcd not healthy")
	}

	// Service account signing key and a static admin token.
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	saKey := filepath.Join(dir, "sa.key")
	os.WriteFile(saKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	tokens := filepath.Join(dir, "tokens.csv")
	os.WriteFile(tokens, []byte(token+",admin,admin,system:masters\n"), 0o600)
	api := start(t, "kube-apiserver", nil, env(t, "KUBE_APISERVER"),
		"--etcd-servers", etcdURL,
		"--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
		"--secure-port", fmt.Sprint(apiPort), "--cert-dir", filepath.Join(dir, "certs"),
		"--token-auth-file", tokens, "--authorization-mode", "RBAC",
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", saKey, "--service-account-signing-key-file", saKey,
		"--service-cluster-ip-range", "10.96.0.0/16",
		// Loopback is refused as the kubernetes Service's endpoint; this
		// cluster has no Services of its own to reach.
		"--endpoint-reconciler-type", "none")
	cfg := &rest.Config{Host: fmt.Sprintf("https://127.0.0.1:%d", apiPort), BearerToken: token,
		TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	cs := kubernetes.NewForConfigOrDie(cfg)
	if !waitFor(120*time.Second, func() bool {
		if api.exited() {
			t.Fatal("kube-apiserver exited")
		}
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(context.Background())
		return err == nil && string(body) == "ok"
	}) {
		t.Fatal("kube-apiserver not ready")
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: live, cluster: {server: "%s", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: %s}}]
contexts: [{name: live, context: {cluster: live, user: admin}}]
current-context: live
`, cfg.Host, token)
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := clientcmd.BuildConfigFromFlags("", kubeconfig); err != nil {
		t.Fatal(err)
	}
	return cfg, kubeconfig
}

// installCRDs applies every CRD file of dirs and waits until established.
func installCRDs(t *testing.T, cfg *rest.Config, files ...string) {
	c := apiext.NewForConfigOrDie(cfg)
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			var crd apiextv1.CustomResourceDefinition
			if err := yaml.Unmarshal([]byte(doc), &crd); err != nil || crd.Kind != "CustomResourceDefinition" {
				continue
			}
			if _, err := c.ApiextensionsV1().CustomResourceDefinitions().Create(context.Background(), &crd, metav1.CreateOptions{}); err != nil {
				t.Fatalf("CRD %s: %v", crd.Name, err)
			}
			names = append(names, crd.Name)
		}
	}
	for _, n := range names {
		if !waitFor(30*time.Second, func() bool {
			crd, err := c.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), n, metav1.GetOptions{})
			if err != nil {
				return false
			}
			for _, cond := range crd.Status.Conditions {
				if cond.Type == apiextv1.Established && cond.Status == apiextv1.ConditionTrue {
					return true
				}
			}
			return false
		}) {
			t.Fatalf("CRD %s not established", n)
		}
	}
	t.Logf("installed %d CRDs", len(names))
}

// selfSigned returns PEM certificate and key for name with serial.
func selfSigned(t *testing.T, name string, serial int64) ([]byte, []byte) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalECPrivateKey(k)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

func ptr[T any](v T) *T { return &v }

func TestLiveController(t *testing.T) {
	gatehouse := env(t, "GATEHOUSE")
	crdDir := env(t, "GATEWAY_API_CRDS")
	policyCRD := env(t, "GATEHOUSE_POLICY_CRD")
	cfg, kubeconfig := cluster(t)
	crds, _ := filepath.Glob(filepath.Join(crdDir, "gateway.networking.k8s.io_*.yaml"))
	installCRDs(t, cfg, append(crds, policyCRD)...)
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(cfg)
	gw := gwclient.NewForConfigOrDie(cfg)

	// The backend: echoes the header the route adds.
	backend := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "key=%s", r.Header.Get("X-API-Key"))
	})}
	bln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go backend.Serve(bln)
	t.Cleanup(func() { backend.Close() })

	certA, keyA := selfSigned(t, "live.example", 1)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(cs.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tls"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{"tls.crt": certA, "tls.key": keyA}}, metav1.CreateOptions{}))
	must(cs.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "svc"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}, metav1.CreateOptions{}))
	must(gw.GatewayV1().GatewayClasses().Create(ctx, &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "gatehouse"},
		Spec: gwv1.GatewayClassSpec{ControllerName: "gatehouse.dev/gateway-controller"}}, metav1.CreateOptions{}))
	must(gw.GatewayV1().Gateways("default").Create(ctx, &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw"},
		Spec: gwv1.GatewaySpec{GatewayClassName: "gatehouse", Listeners: []gwv1.Listener{
			{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType},
			{Name: "https", Port: 443, Protocol: gwv1.HTTPSProtocolType, TLS: &gwv1.ListenerTLSConfig{
				CertificateRefs: []gwv1.SecretObjectReference{{Name: "tls"}}}},
		}}}, metav1.CreateOptions{}))
	route := &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: "route"}, Spec: gwv1.HTTPRouteSpec{
		CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw"}}},
		Rules: []gwv1.HTTPRouteRule{{
			Matches: []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Value: ptr("/v1/data")}}},
			Filters: []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterRequestHeaderModifier,
				RequestHeaderModifier: &gwv1.HTTPHeaderFilter{Add: []gwv1.HTTPHeader{{Name: "X-API-Key", Value: "secret-key"}}}}},
			BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: "svc", Port: ptr(gwv1.PortNumber(80))}}}},
		}},
	}}
	must(gw.GatewayV1().HTTPRoutes("default").Create(ctx, route, metav1.CreateOptions{}))

	// Two replicas, as two pods would be: own ports (port_offset), own
	// admin, own identity.
	type replica struct {
		name        string
		p           *proc
		http, https string
	}
	var reps []*replica
	for i, name := range []string{"gatehouse-a", "gatehouse-b"} {
		offset := 20000 + 1000*i + freePort(t)%500
		base := filepath.Join(t.TempDir(), "base.yaml")
		// The API server refuses loopback EndpointSlice addresses, and
		// this test sends nothing beyond loopback: the Service resolves
		// to the Gatehouse upstream of the same name instead.
		os.WriteFile(base, []byte(fmt.Sprintf("kubernetes: {listen_host: 127.0.0.1, port_offset: %d}\nadmin: {address: \"127.0.0.1:%d\"}\n"+
			"upstreams: [{name: svc, targets: [{url: \"http://%s\"}]}]\n", offset, freePort(t), bln.Addr())), 0o644)
		p := start(t, name, []string{"POD_NAME=" + name}, gatehouse, "run", "--kubernetes", "--kubeconfig", kubeconfig,
			"--gateway-address", "127.0.0.1", "--lease-namespace", "default", "-c", base)
		reps = append(reps, &replica{name: name, p: p, http: fmt.Sprintf("127.0.0.1:%d", 80+offset), https: fmt.Sprintf("127.0.0.1:%d", 443+offset)})
	}

	// Status written by the leader, accepted by the real CRD schemas.
	if !waitFor(60*time.Second, func() bool {
		g, err := gw.GatewayV1().Gateways("default").Get(ctx, "gw", metav1.GetOptions{})
		if err != nil || len(g.Status.Addresses) == 0 || len(g.Status.Listeners) != 2 {
			return false
		}
		for _, c := range g.Status.Conditions {
			if c.Type == "Programmed" && c.Status == "True" && c.ObservedGeneration == g.Generation {
				return true
			}
		}
		return false
	}) {
		t.Fatal("Gateway never Programmed in status")
	}
	routeAccepted := func(gen int64, cond, want string) bool {
		r, err := gw.GatewayV1().HTTPRoutes("default").Get(ctx, "route", metav1.GetOptions{})
		if err != nil || len(r.Status.Parents) != 1 {
			return false
		}
		for _, c := range r.Status.Parents[0].Conditions {
			if c.Type == cond && string(c.Status) == want && c.ObservedGeneration >= gen {
				return true
			}
		}
		return false
	}
	if !waitFor(30*time.Second, func() bool { return routeAccepted(1, "Accepted", "True") }) {
		t.Fatal("HTTPRoute never Accepted in status")
	}
	lease := func() string {
		l, err := cs.CoordinationV1().Leases("default").Get(ctx, "gatehouse-controller", metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	leader := lease()
	t.Logf("lease holder: %q", leader)

	// Both replicas serve the route.
	for _, r := range reps {
		url := "http://" + r.http + "/v1/data"
		if !waitFor(30*time.Second, func() bool {
			resp, err := http.Get(url)
			if err != nil {
				return false
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(body) == "key=secret-key"
		}) {
			t.Fatalf("%s: %s never answered with the route's header", r.name, url)
		}
	}

	// Secret rotation: both replicas serve the new certificate.
	served := func(addr string) int64 {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr, &tls.Config{ServerName: "live.example", InsecureSkipVerify: true})
		if err != nil {
			return 0
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	for _, r := range reps {
		if !waitFor(30*time.Second, func() bool { return served(r.https) == 1 }) {
			t.Fatalf("%s does not serve certificate 1", r.name)
		}
	}
	certB, keyB := selfSigned(t, "live.example", 2)
	sec, err := cs.CoreV1().Secrets("default").Get(ctx, "tls", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sec.Data = map[string][]byte{"tls.crt": certB, "tls.key": keyB}
	must(cs.CoreV1().Secrets("default").Update(ctx, sec, metav1.UpdateOptions{}))
	for _, r := range reps {
		if !waitFor(30*time.Second, func() bool { return served(r.https) == 2 }) {
			t.Fatalf("%s does not serve the rotated certificate", r.name)
		}
	}

	// Failover: stop the leader; the other takes the Lease and writes the
	// status of the next change (a backend that does not exist).
	var survivor *replica
	for _, r := range reps {
		if r.name == leader {
			r.p.stop()
		} else {
			survivor = r
		}
	}
	if survivor == nil || len(reps) != 2 || leader == "" {
		t.Fatalf("leader %q is not one of the replicas", leader)
	}
	if !waitFor(40*time.Second, func() bool { return lease() == survivor.name }) {
		t.Fatalf("lease holder %q, want %s after the leader stopped", lease(), survivor.name)
	}
	r, err := gw.GatewayV1().HTTPRoutes("default").Get(ctx, "route", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.Spec.Rules[0].BackendRefs[0].Name = "missing"
	r, err = gw.GatewayV1().HTTPRoutes("default").Update(ctx, r, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !waitFor(30*time.Second, func() bool { return routeAccepted(r.Generation, "ResolvedRefs", "False") }) {
		t.Fatal("the new leader did not write ResolvedRefs=False for the missing backend")
	}
	t.Logf("failover: %s took the lease and wrote status for generation %d", survivor.name, r.Generation)
}
