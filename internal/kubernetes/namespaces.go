package kubernetes

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Namespace labels for allowedRoutes.namespaces.from: Selector come from
// the Namespace (v1) objects among the manifests. A namespace that is not
// among them is taken to carry only kubernetes.io/metadata.name=NAME, the
// label the API server sets on every namespace (immutable, since
// Kubernetes 1.21); so file mode can select namespaces by name without
// writing Namespace manifests, and other labels need them.

// namespaceLabels returns the labels of namespace ns as the API server
// would show them.
func (t *translator) namespaceLabels(ns string) labels.Set {
	out := labels.Set{}
	if n, ok := t.ix.namespaces[ns]; ok {
		for k, v := range n.Labels {
			out[k] = v
		}
	}
	out[corev1.LabelMetadataName] = ns
	return out
}

// routeSelector compiles a listener's allowedRoutes namespace selector;
// an error means the listener cannot be accepted.
func routeSelector(ar *gwv1.AllowedRoutes) (labels.Selector, error) {
	if ar == nil || ar.Namespaces == nil || ar.Namespaces.From == nil || *ar.Namespaces.From != gwv1.NamespacesFromSelector {
		return nil, nil
	}
	if ar.Namespaces.Selector == nil {
		return nil, fmt.Errorf("allowedRoutes.namespaces.from is Selector but selector is not set")
	}
	s, err := metav1.LabelSelectorAsSelector(ar.Namespaces.Selector)
	if err != nil {
		return nil, fmt.Errorf("allowedRoutes.namespaces.selector: %v", err)
	}
	return s, nil
}

// namespaceAllowed applies allowedRoutes.namespaces (default Same) to a
// route in routeNS on a listener of a Gateway in gwNS.
func (t *translator) namespaceAllowed(ar *gwv1.AllowedRoutes, gwNS, routeNS string) bool {
	from := gwv1.NamespacesFromSame
	if ar != nil && ar.Namespaces != nil && ar.Namespaces.From != nil {
		from = *ar.Namespaces.From
	}
	switch from {
	case gwv1.NamespacesFromAll:
		return true
	case gwv1.NamespacesFromSame:
		return gwNS == routeNS
	case gwv1.NamespacesFromSelector:
		s, err := routeSelector(ar)
		return err == nil && s.Matches(t.namespaceLabels(routeNS))
	}
	return false
}
