package controller

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// The tests run the controller with REAL client-go informers against the
// client-go and gateway-api FAKE clientsets (an in-memory object tracker),
// not against a kube-apiserver, which cannot be built here.

const ns = "default"

// waitFor polls cond every 5 ms until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// cluster is a fake API server: the two clientsets.
type cluster struct {
	kube *kubefake.Clientset
	gw   *gwfake.Clientset
}

// gatewayResources is what discovery reports for gateway.networking.k8s.io/v1.
func gatewayResources() []*metav1.APIResourceList {
	var rs []metav1.APIResource
	for _, k := range gatewayKinds {
		rs = append(rs, metav1.APIResource{Name: k.resource, Kind: k.kind, Namespaced: !k.clusterScoped})
	}
	return []*metav1.APIResourceList{{GroupVersion: gatewayGroupVersion, APIResources: rs}}
}

// newCluster creates objs through the typed clients: Create picks the
// right resource, while the fake's constructor guesses it from the Go type
// (and files a v1 Gateway under the wrong one).
func newCluster(t *testing.T, objs ...runtime.Object) *cluster {
	t.Helper()
	c := &cluster{kube: kubefake.NewClientset(), gw: newGatewayFake()}
	c.gw.Resources = gatewayResources()
	for _, o := range objs {
		if err := c.create(o); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// newGatewayFake is the gateway-api fake on the plain object tracker:
// NewClientset's field-managed tracker has no schema for the Gateway API
// kinds and refuses them (kubernetes/kubernetes#126850).
func newGatewayFake() *gwfake.Clientset {
	return gwfake.NewSimpleClientset() //nolint:staticcheck // see above
}

func (c *cluster) create(o runtime.Object) error {
	ctx, opts := context.Background(), metav1.CreateOptions{}
	var err error
	switch v := o.(type) {
	case *gwv1.GatewayClass:
		_, err = c.gw.GatewayV1().GatewayClasses().Create(ctx, v, opts)
	case *gwv1.Gateway:
		_, err = c.gw.GatewayV1().Gateways(v.Namespace).Create(ctx, v, opts)
	case *gwv1.HTTPRoute:
		_, err = c.gw.GatewayV1().HTTPRoutes(v.Namespace).Create(ctx, v, opts)
	case *corev1.Service:
		_, err = c.kube.CoreV1().Services(v.Namespace).Create(ctx, v, opts)
	case *corev1.Secret:
		_, err = c.kube.CoreV1().Secrets(v.Namespace).Create(ctx, v, opts)
	case *discoveryv1.EndpointSlice:
		_, err = c.kube.DiscoveryV1().EndpointSlices(v.Namespace).Create(ctx, v, opts)
	case *networkingv1.Ingress:
		_, err = c.kube.NetworkingV1().Ingresses(v.Namespace).Create(ctx, v, opts)
	case *coordinationv1.Lease:
		_, err = c.kube.CoordinationV1().Leases(v.Namespace).Create(ctx, v, opts)
	default:
		err = fmt.Errorf("create: unexpected %T", o)
	}
	return err
}

// replica returns clientsets of their own (own reactors, so actions can be
// counted per replica) that share c's objects, like two pods talking to
// one API server.
func (c *cluster) replica() *cluster {
	r := &cluster{kube: kubefake.NewClientset(), gw: newGatewayFake()}
	r.gw.Resources = gatewayResources()
	share(&r.kube.Fake, c.kube.Tracker())
	share(&r.gw.Fake, c.gw.Tracker())
	return r
}

func share(f *k8stesting.Fake, tr k8stesting.ObjectTracker) {
	f.ReactionChain = nil
	f.WatchReactionChain = nil
	f.AddReactor("*", "*", k8stesting.ObjectReaction(tr))
	f.AddWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		var opts metav1.ListOptions
		if wa, ok := a.(k8stesting.WatchActionImpl); ok {
			opts = wa.ListOptions
		}
		w, err := tr.Watch(a.GetResource(), a.GetNamespace(), opts)
		return err == nil, w, err
	})
}

// countStatusUpdates counts the status updates made through c.
func (c *cluster) countStatusUpdates() *atomic.Int64 {
	n := &atomic.Int64{}
	count := func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" {
			n.Add(1)
		}
		return false, nil, nil
	}
	c.gw.PrependReactor("update", "*", count)
	c.kube.PrependReactor("update", "*", count)
	return n
}

// recorder is a Build that translates and remembers what it saw.
type recorder struct {
	dir  string
	fail atomic.Bool

	mu    sync.Mutex
	calls int
	objs  []kubernetes.Object
	res   *kubernetes.Result
	log   []string // "build ok", "build failed"; shared with status events
}

func (r *recorder) build(objs []kubernetes.Object) (*kubernetes.Result, error) {
	res := kubernetes.Translate(objs, kubernetes.Options{SecretDir: r.dir})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail.Load() {
		r.log = append(r.log, "build failed")
		return nil, errors.New("merged configuration invalid")
	}
	r.log = append(r.log, "build ok")
	r.objs, r.res = objs, res
	return res, nil
}

func (r *recorder) event(s string) {
	r.mu.Lock()
	r.log = append(r.log, s)
	r.mu.Unlock()
}

func (r *recorder) snapshot() (int, []kubernetes.Object, *kubernetes.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, r.objs, r.res
}

// start runs a controller until the test ends (or stop is called) and
// fails the test if Run returns anything but the cancellation.
func start(t *testing.T, c *cluster, cfg Config) (ctl *Controller, stop func()) {
	t.Helper()
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.Quiet, cfg.MaxDelay = 10*time.Millisecond, 100*time.Millisecond
	ctl, err := New(c.kube, c.gw, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ctl.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Error("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return ctl, stop
}

// Fixtures: a GatewayClass of ours, a Gateway with an HTTP listener, a
// Service with one ready endpoint, and an HTTPRoute to it.

func gatewayClass() *gwv1.GatewayClass {
	return &gwv1.GatewayClass{ObjectMeta: metav1.ObjectMeta{Name: "gatehouse", Generation: 1},
		Spec: gwv1.GatewayClassSpec{ControllerName: kubernetes.DefaultControllerName}}
}

func gateway(listeners ...gwv1.Listener) *gwv1.Gateway {
	if len(listeners) == 0 {
		listeners = []gwv1.Listener{{Name: "http", Port: 8080, Protocol: gwv1.HTTPProtocolType}}
	}
	return &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Name: "gw", Namespace: ns, Generation: 1},
		Spec: gwv1.GatewaySpec{GatewayClassName: "gatehouse", Listeners: listeners}}
}

func route(name, path, service string) *gwv1.HTTPRoute {
	port := gwv1.PortNumber(80)
	return &gwv1.HTTPRoute{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Generation: 1},
		Spec: gwv1.HTTPRouteSpec{
			CommonRouteSpec: gwv1.CommonRouteSpec{ParentRefs: []gwv1.ParentReference{{Name: "gw"}}},
			Rules: []gwv1.HTTPRouteRule{{
				Matches:     []gwv1.HTTPRouteMatch{{Path: &gwv1.HTTPPathMatch{Type: new(gwv1.PathMatchPathPrefix), Value: &path}}},
				BackendRefs: []gwv1.HTTPBackendRef{{BackendRef: gwv1.BackendRef{BackendObjectReference: gwv1.BackendObjectReference{Name: gwv1.ObjectName(service), Port: &port}}}},
			}},
		}}
}

func service(name string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
}

func endpoints(svc, ip string) *discoveryv1.EndpointSlice {
	port, name := int32(8080), "http"
	return &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc + "-1", Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: new(true)}}},
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
	}
}

func baseObjects() []runtime.Object {
	return []runtime.Object{gatewayClass(), gateway(), route("r1", "/v1", "echo"), service("echo"), endpoints("echo", "10.0.0.1")}
}

// condition returns the status of condition t in conds ("" if absent).
func condition(conds []metav1.Condition, t string) (status, reason string) {
	c := meta.FindStatusCondition(conds, t)
	if c == nil {
		return "", ""
	}
	return string(c.Status), c.Reason
}

func getGateway(t *testing.T, c *cluster) *gwv1.Gateway {
	t.Helper()
	g, err := c.gw.GatewayV1().Gateways(ns).Get(context.Background(), "gw", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func getRoute(t *testing.T, c *cluster, name string) *gwv1.HTTPRoute {
	t.Helper()
	r, err := c.gw.GatewayV1().HTTPRoutes(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// routeCondition is condition t of the route's first parent entry.
func routeCondition(t *testing.T, c *cluster, name, ct string) (status, reason string) {
	r := getRoute(t, c, name)
	if len(r.Status.Parents) == 0 {
		return "", ""
	}
	return condition(r.Status.Parents[0].Conditions, ct)
}

// selfSigned returns a PEM certificate and key for host.
func selfSigned(t *testing.T, host string, serial int64) (crt, key []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})
}

// ingress routes every path of host shop.example to Service echo, class
// gatehouse.
func ingress() *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: ns, Generation: 1},
		Spec: networkingv1.IngressSpec{IngressClassName: new("gatehouse"), Rules: []networkingv1.IngressRule{{
			Host: "shop.example",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "echo", Port: networkingv1.ServiceBackendPort{Number: 80}}},
			}}}},
		}}}}
}
