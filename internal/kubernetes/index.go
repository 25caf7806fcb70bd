package kubernetes

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1a2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
)

// index holds the decoded objects by kind, each list sorted by
// namespace/name so the translation does not depend on file order.
type index struct {
	classes        map[string]*gwv1.GatewayClass
	gateways       []item[*gwv1.Gateway]
	httpRoutes     []item[*gwv1.HTTPRoute]
	grpcRoutes     []item[*gwv1.GRPCRoute]
	l4Routes       []l4Source
	grants         []*gwv1.ReferenceGrant
	ingresses      []item[*networkingv1.Ingress]
	ingressClasses map[string]*networkingv1.IngressClass
	services       map[string]*corev1.Service
	secrets        map[string]*corev1.Secret
	namespaces     map[string]*corev1.Namespace
	configMaps     map[string]*corev1.ConfigMap
	backendTLS     []item[*gwv1.BackendTLSPolicy]
	slices         map[string][]*discoveryv1.EndpointSlice // by ns/service
	policies       map[string]*GatehousePolicy             // by ns/name
}

// item is an object and where it was defined.
type item[T any] struct {
	obj T
	src Object
}

func key(ns, name string) string { return ns + "/" + name }

func nsOrDefault(ns string) string {
	if ns == "" {
		return "default"
	}
	return ns
}

// newIndex indexes objs; objects with names the API server would refuse,
// and second definitions of the same kind/namespace/name, are reported in
// errs and left out (their names become Gatehouse names).
func newIndex(objs []Object, errs *[]error) *index {
	ix := &index{
		classes:        map[string]*gwv1.GatewayClass{},
		ingressClasses: map[string]*networkingv1.IngressClass{},
		services:       map[string]*corev1.Service{},
		secrets:        map[string]*corev1.Secret{},
		namespaces:     map[string]*corev1.Namespace{},
		configMaps:     map[string]*corev1.ConfigMap{},
		slices:         map[string][]*discoveryv1.EndpointSlice{},
		policies:       map[string]*GatehousePolicy{},
	}
	seen := map[string]Object{}
	for _, o := range objs {
		m := o.Meta()
		if m == nil {
			continue
		}
		// Offline manifests often omit the namespace: kubectl would
		// apply them to "default".
		m.Namespace = nsOrDefault(m.Namespace)
		if msgs := validation.IsDNS1123Subdomain(m.Name); len(msgs) > 0 {
			*errs = append(*errs, &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf("%s: invalid metadata.name %q: %s", o.Kind, m.Name, strings.Join(msgs, "; "))})
			continue
		}
		if msgs := validation.IsDNS1123Label(m.Namespace); len(msgs) > 0 {
			*errs = append(*errs, &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf("%s: invalid metadata.namespace %q: %s", o.Kind, m.Namespace, strings.Join(msgs, "; "))})
			continue
		}
		k := o.Kind + " " + key(m.Namespace, m.Name)
		if prev, dup := seen[k]; dup {
			*errs = append(*errs, &Error{File: o.File, Line: o.Line, Msg: fmt.Sprintf("%s is defined twice (first at %s)", k, prev.Pos())})
			continue
		}
		seen[k] = o
		switch v := o.Obj.(type) {
		case *gwv1.GatewayClass:
			ix.classes[v.Name] = v
		case *gwv1.Gateway:
			ix.gateways = append(ix.gateways, item[*gwv1.Gateway]{v, o})
		case *gwv1.HTTPRoute:
			ix.httpRoutes = append(ix.httpRoutes, item[*gwv1.HTTPRoute]{v, o})
		case *gwv1.GRPCRoute:
			ix.grpcRoutes = append(ix.grpcRoutes, item[*gwv1.GRPCRoute]{v, o})
		case *gwv1a2.TLSRoute:
			ix.l4Routes = append(ix.l4Routes, tlsSource(v, o, nil))
		case *gwv1a2.TCPRoute:
			ix.l4Routes = append(ix.l4Routes, tcpSource(v, o))
		case *gwv1a2.UDPRoute:
			ix.l4Routes = append(ix.l4Routes, udpSource(v, o))
		case *gwv1.TLSRoute:
			ix.l4Routes = append(ix.l4Routes, tlsSource((*gwv1a2.TLSRoute)(nil), o, v))
		case *gwv1.TCPRoute:
			ix.l4Routes = append(ix.l4Routes, l4From("TCPRoute", v.ObjectMeta, o, v.Spec.ParentRefs, nil, tcpRules(v.Spec.Rules)))
		case *gwv1.UDPRoute:
			ix.l4Routes = append(ix.l4Routes, l4From("UDPRoute", v.ObjectMeta, o, v.Spec.ParentRefs, nil, udpRules(v.Spec.Rules)))
		case *gwv1.ReferenceGrant:
			ix.grants = append(ix.grants, v)
		case *networkingv1.Ingress:
			ix.ingresses = append(ix.ingresses, item[*networkingv1.Ingress]{v, o})
		case *networkingv1.IngressClass:
			ix.ingressClasses[v.Name] = v
		case *corev1.Service:
			ix.services[key(v.Namespace, v.Name)] = v
		case *corev1.Secret:
			ix.secrets[key(v.Namespace, v.Name)] = v
		case *corev1.Namespace:
			ix.namespaces[v.Name] = v
		case *corev1.ConfigMap:
			ix.configMaps[key(v.Namespace, v.Name)] = v
		case *gwv1.BackendTLSPolicy:
			ix.backendTLS = append(ix.backendTLS, item[*gwv1.BackendTLSPolicy]{v, o})
		case *GatehousePolicy:
			ix.policies[key(v.Namespace, v.Name)] = v
		case *discoveryv1.EndpointSlice:
			svc := v.Labels[discoveryv1.LabelServiceName]
			k := key(v.Namespace, svc)
			ix.slices[k] = append(ix.slices[k], v)
		}
	}
	sortItems(ix.gateways)
	sortItems(ix.httpRoutes)
	sortItems(ix.grpcRoutes)
	sortItems(ix.backendTLS)
	sortItems(ix.ingresses)
	slices.SortStableFunc(ix.l4Routes, func(a, b l4Source) int {
		return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.ns, b.ns), cmp.Compare(a.name, b.name))
	})
	for _, s := range ix.slices {
		slices.SortFunc(s, func(a, b *discoveryv1.EndpointSlice) int { return cmp.Compare(a.Name, b.Name) })
	}
	return ix
}

type named interface {
	GetNamespace() string
	GetName() string
}

func sortItems[T named](items []item[T]) {
	slices.SortStableFunc(items, func(a, b item[T]) int {
		return cmp.Or(cmp.Compare(a.obj.GetNamespace(), b.obj.GetNamespace()), cmp.Compare(a.obj.GetName(), b.obj.GetName()))
	})
}
