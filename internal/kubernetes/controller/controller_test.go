package controller

import (
	"context"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// TestBuildAndStatus: the objects in the cluster reach Build as typed
// objects with apiVersion, kind and a "Kind ns/name" origin, and the
// statuses the translator computed are written with UpdateStatus: the
// Gateway Programmed with the configured address, the HTTPRoute Accepted
// and ResolvedRefs, the Ingress's load balancer IP. A Gateway whose
// class does not exist is neither translated nor touched.
func TestBuildAndStatus(t *testing.T) {
	orphan := gateway()
	orphan.Name, orphan.Spec.GatewayClassName = "orphan", "absent"
	c := newCluster(t, append(baseObjects(), ingress(), orphan)...)
	updates := c.countStatusUpdates()
	rec := &recorder{dir: t.TempDir()}
	addrs, _ := statusAddresses()
	start(t, c, Config{Build: rec.build, DisableLeaderElection: true, Addresses: addrs, IngressIPs: []string{"192.0.2.7"}})

	waitFor(t, "Gateway Programmed=True", func() bool {
		s, _ := condition(getGateway(t, c).Status.Conditions, "Programmed")
		return s == "True"
	})
	waitFor(t, "HTTPRoute Accepted and ResolvedRefs", func() bool {
		a, _ := routeCondition(t, c, "r1", "Accepted")
		r, _ := routeCondition(t, c, "r1", "ResolvedRefs")
		return a == "True" && r == "True"
	})
	if updates.Load() == 0 {
		t.Error("statuses appeared without an UpdateStatus call")
	}
	if a := getGateway(t, c).Status.Addresses; len(a) != 1 || a[0].Value != "192.0.2.7" {
		t.Errorf("Gateway addresses %+v", a)
	}
	waitFor(t, "Ingress load balancer IP", func() bool {
		in, err := c.kube.NetworkingV1().Ingresses(ns).Get(context.Background(), "shop", metav1.GetOptions{})
		return err == nil && len(in.Status.LoadBalancer.Ingress) == 1 && in.Status.LoadBalancer.Ingress[0].IP == "192.0.2.7"
	})
	if s, _ := condition(mustClass(t, c).Status.Conditions, "Accepted"); s != "True" {
		t.Errorf("GatewayClass Accepted = %q", s)
	}

	_, objs, res := rec.snapshot()
	if slices.ContainsFunc(objs, func(o kubernetes.Object) bool { return o.File == "Gateway default/orphan" }) {
		t.Error("a Gateway of an absent class reached Build")
	}
	if g, err := c.gw.GatewayV1().Gateways(ns).Get(context.Background(), "orphan", metav1.GetOptions{}); err != nil || len(g.Status.Conditions) != 0 {
		t.Errorf("orphan Gateway status %+v, %v", g.Status, err)
	}
	i := slices.IndexFunc(objs, func(o kubernetes.Object) bool { return o.Kind == "HTTPRoute" })
	if i < 0 {
		t.Fatalf("Build saw no HTTPRoute: %v", objs)
	}
	if o := objs[i]; o.File != "HTTPRoute default/r1" || o.APIVersion != "gateway.networking.k8s.io/v1" || o.Line != 0 {
		t.Errorf("route object %+v", o)
	}
	if _, ok := objs[i].Obj.(*gwv1.HTTPRoute); !ok {
		t.Errorf("route Obj is %T", objs[i].Obj)
	}
	if len(res.Config.Routes) != 2 || len(res.Config.Upstreams) != 2 || !strings.Contains(res.Config.Upstreams[0].Targets[0].URL, "10.0.0.1:8080") {
		t.Errorf("config: routes %d, upstreams %+v", len(res.Config.Routes), res.Config.Upstreams)
	}
}

// statusAddresses is the Gateway address list the tests configure.
func statusAddresses() ([]gwv1.GatewayStatusAddress, []string) {
	return []gwv1.GatewayStatusAddress{{Type: new(gwv1.IPAddressType), Value: "192.0.2.7"}}, nil
}

func mustClass(t *testing.T, c *cluster) *gwv1.GatewayClass {
	t.Helper()
	gc, err := c.gw.GatewayV1().GatewayClasses().Get(context.Background(), "gatehouse", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return gc
}

// TestRebuildOnEdit: an edited route is rebuilt after the debounce; a
// second route to a Service that does not exist only gets its own
// ResolvedRefs=False/BackendNotFound, the first keeps serving; a Build
// that fails as a whole writes no status at all.
func TestRebuildOnEdit(t *testing.T) {
	c := newCluster(t, baseObjects()...)
	rec := &recorder{dir: t.TempDir()}
	c.gw.PrependReactor("update", "httproutes", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() == "status" {
			rec.event("status " + a.(k8stesting.UpdateAction).GetObject().(*gwv1.HTTPRoute).Name)
		}
		return false, nil, nil
	})
	start(t, c, Config{Build: rec.build, DisableLeaderElection: true})
	waitFor(t, "r1 accepted", func() bool { s, _ := routeCondition(t, c, "r1", "Accepted"); return s == "True" })

	ctx := context.Background()
	r1 := getRoute(t, c, "r1")
	r1.Spec.Rules[0].Matches[0].Path.Value = new("/v2")
	r1.Generation++
	if _, err := c.gw.GatewayV1().HTTPRoutes(ns).Update(ctx, r1, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rebuild with /v2", func() bool {
		_, _, res := rec.snapshot()
		return serves(res, "/v2") && !serves(res, "/v1")
	})

	// A failing Build: the broken route arrives, but nothing is written.
	rec.fail.Store(true)
	if _, err := c.gw.GatewayV1().HTTPRoutes(ns).Create(ctx, route("r2", "/broken", "nope"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a failed build", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return slices.Contains(rec.log, "build failed")
	})
	rec.fail.Store(false)
	// Any change triggers the next build: label the Service.
	svc, err := c.kube.CoreV1().Services(ns).Get(ctx, "echo", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	svc.Labels = map[string]string{"touched": "yes"}
	if _, err := c.kube.CoreV1().Services(ns).Update(ctx, svc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "r2 ResolvedRefs=False BackendNotFound", func() bool {
		s, reason := routeCondition(t, c, "r2", "ResolvedRefs")
		return s == "False" && reason == "BackendNotFound"
	})
	if s, _ := routeCondition(t, c, "r1", "ResolvedRefs"); s != "True" {
		t.Errorf("r1 ResolvedRefs = %q after r2 broke", s)
	}
	_, _, res := rec.snapshot()
	if !serves(res, "/v2") {
		t.Errorf("r1 no longer served: %d routes", len(res.Config.Routes))
	}

	rec.mu.Lock()
	log := append([]string(nil), rec.log...)
	rec.mu.Unlock()
	failed := slices.Index(log, "build failed")
	next := failed + 1 + slices.Index(log[failed+1:], "build ok")
	for _, e := range log[failed:next] {
		if strings.HasPrefix(e, "status") {
			t.Errorf("status written after a failed build: %v", log)
		}
	}
}

// TestSecretRotation: a new certificate in the Secret reaches Build
// without a restart (the cmd's Build writes it and reloads).
func TestSecretRotation(t *testing.T) {
	crt1, key1 := selfSigned(t, "a.example", 1)
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "cert", Namespace: ns}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: crt1, corev1.TLSPrivateKeyKey: key1}}
	https := gwv1.Listener{Name: "https", Port: 8443, Protocol: gwv1.HTTPSProtocolType, TLS: &gwv1.ListenerTLSConfig{
		CertificateRefs: []gwv1.SecretObjectReference{{Name: "cert"}}}}
	c := newCluster(t, gatewayClass(), gateway(https), route("r1", "/", "echo"), service("echo"), secret)
	rec := &recorder{dir: t.TempDir()}
	start(t, c, Config{Build: rec.build, DisableLeaderElection: true})

	hasCert := func(pem []byte) func() bool {
		return func() bool {
			_, _, res := rec.snapshot()
			if res == nil {
				return false
			}
			for _, data := range res.Files {
				if string(data) == string(pem) {
					return true
				}
			}
			return false
		}
	}
	waitFor(t, "first certificate", hasCert(crt1))

	crt2, key2 := selfSigned(t, "a.example", 2)
	secret.Data = map[string][]byte{corev1.TLSCertKey: crt2, corev1.TLSPrivateKeyKey: key2}
	if _, err := c.kube.CoreV1().Secrets(ns).Update(context.Background(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "rotated certificate", hasCert(crt2))
}

// serves reports whether a route of res matches the path prefix.
func serves(res *kubernetes.Result, prefix string) bool {
	return res != nil && slices.ContainsFunc(res.Config.Routes, func(r *config.Route) bool {
		return slices.ContainsFunc(append([]*config.Match{r.Match}, r.Matches...), func(m *config.Match) bool {
			return m != nil && m.Path != nil && m.Path.Prefix == prefix
		})
	})
}
