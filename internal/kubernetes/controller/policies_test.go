package controller

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

func gatehousePolicy(name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": kubernetes.PolicyVersion, "kind": kubernetes.PolicyKind,
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec":     spec,
	}}
	return u
}

// TestGatehousePolicies: GatehousePolicy objects (a CRD, watched with the
// dynamic client when discovery lists it) reach Build decoded by the
// translator's own decoder, so a rule's ExtensionRef to one carries its
// policies; one whose spec does not decode is left out and the rule that
// names it cannot resolve it (500), without affecting the others.
func TestGatehousePolicies(t *testing.T) {
	withPolicy := func(name, policy string) *gwv1.HTTPRoute {
		r := route(name, "/"+name, "echo")
		r.Spec.Rules[0].Filters = []gwv1.HTTPRouteFilter{{Type: gwv1.HTTPRouteFilterExtensionRef,
			ExtensionRef: &gwv1.LocalObjectReference{Group: kubernetes.PolicyGroup, Kind: kubernetes.PolicyKind, Name: gwv1.ObjectName(policy)}}}
		return r
	}
	c := newCluster(t, append(baseObjects(), withPolicy("good", "strict"), withPolicy("bad", "typo"))...)
	c.kube.Resources = []*metav1.APIResourceList{{GroupVersion: "gatehouse.dev/v1alpha1",
		APIResources: []metav1.APIResource{{Name: "gatehousepolicies", Kind: kubernetes.PolicyKind, Namespaced: true}}}}
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{policyGVR: "GatehousePolicyList"},
		gatehousePolicy("strict", map[string]any{"ip_filter": map[string]any{"deny": []any{"10.0.0.0/8"}}}),
		gatehousePolicy("typo", map[string]any{"ip_filtre": map[string]any{"deny": []any{"10.0.0.0/8"}}}))
	rec := &recorder{dir: t.TempDir()}
	start(t, c, Config{Build: rec.build, Dynamic: dyn, DisableLeaderElection: true})

	waitFor(t, "a build with the policy", func() bool {
		_, objs, _ := rec.snapshot()
		return slices.ContainsFunc(objs, func(o kubernetes.Object) bool { return o.Kind == kubernetes.PolicyKind })
	})
	_, objs, res := rec.snapshot()
	var names []string
	for _, o := range objs {
		if p, ok := o.Obj.(*kubernetes.GatehousePolicy); ok {
			names = append(names, p.Name)
			if p.Spec == nil || p.Spec.IPFilter == nil || o.File != "GatehousePolicy default/strict" {
				t.Errorf("policy object %+v", o)
			}
		}
	}
	if strings.Join(names, ",") != "strict" {
		t.Errorf("policies built: %v, want only strict", names)
	}
	seen := map[string]bool{}
	for _, r := range res.Config.Routes {
		switch {
		case strings.Contains(r.Name, "good"):
			seen["good"] = true
			if r.Policies == nil || r.Policies.IPFilter == nil {
				t.Errorf("route %s has no ip_filter: %+v", r.Name, r.Policies)
			}
		case strings.Contains(r.Name, "bad"):
			seen["bad"] = true
			if r.Respond == nil || r.Respond.Status != 500 {
				t.Errorf("route %s naming the undecodable policy: %+v", r.Name, r.Respond)
			}
		}
	}
	if !seen["good"] || !seen["bad"] {
		t.Errorf("routes %v: good and bad not both found", seen)
	}
}
