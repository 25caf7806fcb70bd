package controller

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// policyGVR is Gatehouse's own policy CRD (see kubernetes.GatehousePolicy,
// attached to HTTPRoute rules by ExtensionRef). It has no generated
// client: it is watched through the dynamic client.
var policyGVR = schema.GroupVersionResource{Group: kubernetes.PolicyGroup, Version: "v1alpha1", Resource: "gatehousepolicies"}

// policiesServed asks discovery whether the GatehousePolicy CRD is
// installed (an informer for a missing resource never syncs).
func policiesServed(d discovery.DiscoveryInterface) bool {
	list, err := d.ServerResourcesForGroupVersion(policyGVR.GroupVersion().String())
	if err != nil {
		return false
	}
	for _, r := range list.APIResources {
		if r.Name == policyGVR.Resource {
			return true
		}
	}
	return false
}

// addPolicies watches GatehousePolicy objects in each namespace.
func (ws *watchSet) addPolicies(dyn dynamic.Interface, namespaces []string) {
	for _, ns := range namespaces {
		f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, ns, nil)
		ws.factories = append(ws.factories, f)
		ws.add(kubernetes.PolicyVersion, kubernetes.PolicyKind, f.ForResource(policyGVR).Informer())
	}
}

// policyObject decodes a cached GatehousePolicy with the translator's own
// decoder (kubernetes.Decode), so its spec is checked exactly as in file
// mode; a spec that does not decode is an error naming the object.
func policyObject(u *unstructured.Unstructured, file string) (kubernetes.Object, error) {
	u = u.DeepCopy()
	u.SetManagedFields(nil)
	js, err := u.MarshalJSON()
	if err != nil {
		return kubernetes.Object{}, err
	}
	y, err := k8syaml.JSONToYAML(js)
	if err != nil {
		return kubernetes.Object{}, err
	}
	objs, err := kubernetes.Decode(file, y)
	if err != nil {
		return kubernetes.Object{}, err
	}
	if len(objs) != 1 {
		return kubernetes.Object{}, fmt.Errorf("%s: decoded into %d objects", file, len(objs))
	}
	return objs[0], nil
}
