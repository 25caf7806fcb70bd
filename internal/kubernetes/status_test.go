package kubernetes

import (
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

const statusManifests = `
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: ours}
spec: {controllerName: gatehouse.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: theirs}
spec: {controllerName: example.com/other}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: ns, generation: 3}
spec:
  gatewayClassName: ours
  listeners:
  - {name: web, port: 80, protocol: HTTP}
  - {name: bad, port: 81, protocol: HTTP, allowedRoutes: {kinds: [{kind: TCPRoute}]}}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: other, namespace: ns}
spec:
  gatewayClassName: theirs
  listeners: [{name: web, port: 80, protocol: HTTP}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r, namespace: ns, generation: 7}
spec:
  parentRefs: [{name: gw}, {name: other}, {name: gw, sectionName: missing}]
  rules:
  - backendRefs: [{name: nosuch, port: 80}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: in, namespace: ns}
spec:
  ingressClassName: gatehouse
  rules: [{host: a.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: s, port: {number: 80}}}}]}}]
`

// TestApplyStatus checks what a controller writes back: conditions with
// the object's generation, listener route counts and kinds, one parent
// entry per parentRef to a served Gateway (none for another
// controller's Gateway, whose entry is kept), and Ingress addresses.
func TestApplyStatus(t *testing.T) {
	objs, err := Decode("status.yaml", []byte(statusManifests))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	now := time.Unix(1000, 0)
	opts := StatusOptions{Now: now, Addresses: []gwv1.GatewayStatusAddress{{Type: ptr(gwv1.IPAddressType), Value: "127.0.0.1"}},
		IngressIPs: []string{"127.0.0.1"}}
	byName := map[string]Object{}
	for _, o := range objs {
		byName[o.Kind+"/"+o.Meta().Name] = o
	}

	gw := byName["Gateway/gw"].Obj.(*gwv1.Gateway)
	if !res.ApplyStatus(gw, opts) {
		t.Fatal("Gateway status not changed")
	}
	if c := gw.Status.Conditions; len(c) != 2 || c[0].Type != "Accepted" || c[0].Status != "True" || c[0].ObservedGeneration != 3 {
		t.Fatalf("Gateway conditions = %+v", c)
	}
	if len(gw.Status.Addresses) != 1 || gw.Status.Addresses[0].Value != "127.0.0.1" {
		t.Fatalf("addresses = %+v", gw.Status.Addresses)
	}
	if l := gw.Status.Listeners; len(l) != 2 || l[0].AttachedRoutes != 1 || len(l[0].SupportedKinds) != 2 || l[0].SupportedKinds[0].Kind != "HTTPRoute" || l[0].SupportedKinds[1].Kind != "GRPCRoute" {
		t.Fatalf("listeners = %+v", l)
	}
	if l := gw.Status.Listeners[1]; l.AttachedRoutes != 0 || len(l.SupportedKinds) != 0 {
		t.Fatalf("listener bad = %+v", l)
	}
	if res.ApplyStatus(gw, StatusOptions{Now: now.Add(time.Hour), Addresses: opts.Addresses}) {
		t.Fatal("second apply changed the status")
	}
	if gw.Status.Conditions[0].LastTransitionTime.Time != now {
		t.Fatal("LastTransitionTime moved without a change")
	}

	if res.ApplyStatus(byName["Gateway/other"].Obj, opts) || res.ApplyStatus(byName["GatewayClass/theirs"].Obj, opts) {
		t.Fatal("another controller's objects were written")
	}
	if gc := byName["GatewayClass/ours"].Obj.(*gwv1.GatewayClass); !res.ApplyStatus(gc, opts) || gc.Status.Conditions[0].Status != "True" {
		t.Fatalf("GatewayClass = %+v", gc.Status)
	}

	hr := byName["HTTPRoute/r"].Obj.(*gwv1.HTTPRoute)
	foreign := gwv1.RouteParentStatus{ParentRef: gwv1.ParentReference{Name: "other"}, ControllerName: "example.com/other"}
	hr.Status.Parents = []gwv1.RouteParentStatus{foreign}
	if !res.ApplyStatus(hr, opts) {
		t.Fatal("HTTPRoute status not changed")
	}
	p := hr.Status.Parents
	if len(p) != 3 || p[0].ControllerName != "example.com/other" {
		t.Fatalf("parents = %+v", p)
	}
	acc, rr := p[1].Conditions[0], p[1].Conditions[1]
	if acc.Type != "Accepted" || acc.Status != "True" || acc.ObservedGeneration != 7 || rr.Type != "ResolvedRefs" || rr.Reason != "BackendNotFound" {
		t.Fatalf("parent gw = %+v", p[1].Conditions)
	}
	if p[2].ParentRef.SectionName == nil || p[2].Conditions[0].Status != "False" || p[2].Conditions[0].Reason != "NoMatchingParent" {
		t.Fatalf("parent gw/missing = %+v", p[2])
	}

	in := byName["Ingress/in"].Obj.(*networkingv1.Ingress)
	if !res.ApplyStatus(in, opts) || in.Status.LoadBalancer.Ingress[0].IP != "127.0.0.1" {
		t.Fatalf("Ingress = %+v", in.Status)
	}
}

func TestPortOffset(t *testing.T) {
	objs, err := Decode("status.yaml", []byte(statusManifests))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{ListenHost: "127.0.0.1", PortOffset: 20000})
	for _, l := range res.Config.Listeners {
		if l.Address != "127.0.0.1:20080" && l.Address != "127.0.0.1:20081" {
			t.Fatalf("listener %s at %s", l.Name, l.Address)
		}
	}
	if res.Config.Listeners[0].Name != "http-80" {
		t.Fatalf("listener names follow the manifest port: %s", res.Config.Listeners[0].Name)
	}
}

// TestAttachedToUnresolvedListener: a listener whose certificate does not
// resolve is Accepted but not Programmed; routes still attach to it and
// count in attachedRoutes, and nothing is served for it. A Gateway with
// one invalid listener is Accepted with reason ListenersNotValid.
func TestAttachedToUnresolvedListener(t *testing.T) {
	objs, err := Decode("u.yaml", []byte(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw}
spec:
  gatewayClassName: any
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: tls, port: 443, protocol: HTTPS, tls: {certificateRefs: [{name: does-not-exist}]}}
  - {name: bad, port: 1111, protocol: INVALID}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw, sectionName: tls}]
  rules: [{backendRefs: [{name: does-not-exist, port: 80}]}]
`))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	gw := objs[0].Obj.(*gwv1.Gateway)
	res.ApplyStatus(gw, StatusOptions{})
	if c := gw.Status.Conditions[0]; c.Type != "Accepted" || c.Status != "True" || c.Reason != "ListenersNotValid" {
		t.Fatalf("Gateway Accepted = %+v", c)
	}
	tls := gw.Status.Listeners[1]
	if tls.AttachedRoutes != 1 {
		t.Fatalf("tls listener attachedRoutes = %d, want 1", tls.AttachedRoutes)
	}
	if st, _ := res.Find("HTTPRoute", "default", "r", "Gateway default/gw/tls"); len(st.Conditions) == 0 || st.Conditions[0].Status != "True" {
		t.Fatalf("route parent status = %+v", st)
	}
	if len(res.Config.Routes) != 0 {
		t.Fatalf("routes served for an unprogrammed listener: %+v", res.Config.Routes[0])
	}
	// Its references are still checked.
	if st, _ := res.Find("HTTPRoute", "default", "r", ""); len(st.Conditions) == 0 || st.Conditions[0].Reason != "BackendNotFound" {
		t.Fatalf("route status = %+v, want ResolvedRefs BackendNotFound", st)
	}
}

// TestApplyStatusDropsStale: a condition type the translation no longer
// reports is removed, others keep their transition time.
func TestApplyStatusDropsStale(t *testing.T) {
	objs, err := Decode("status.yaml", []byte(statusManifests))
	if err != nil {
		t.Fatal(err)
	}
	res := Translate(objs, Options{})
	var gw *gwv1.Gateway
	for _, o := range objs {
		if g, ok := o.Obj.(*gwv1.Gateway); ok && g.Name == "gw" {
			gw = g
		}
	}
	old := metav1.NewTime(time.Unix(5, 0))
	gw.Status.Conditions = []metav1.Condition{
		{Type: "Accepted", Status: "True", Reason: "Accepted", ObservedGeneration: 3, LastTransitionTime: old},
		{Type: "InsecureFrontendValidationMode", Status: "True", Reason: "ConfigurationChanged", LastTransitionTime: old},
	}
	res.ApplyStatus(gw, StatusOptions{Now: time.Unix(1000, 0)})
	for _, c := range gw.Status.Conditions {
		if c.Type == "InsecureFrontendValidationMode" {
			t.Fatalf("stale condition kept: %+v", gw.Status.Conditions)
		}
		if c.Type == "Accepted" && c.LastTransitionTime != old {
			t.Fatalf("unchanged Accepted moved its transition time: %+v", c)
		}
	}
}
