package kubernetes

import (
	"cmp"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
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
	slices         map[string][]*discoveryv1.EndpointSlice // by ns/service
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

func newIndex(objs []Object) *index {
	ix := &index{
		classes:        map[string]*gwv1.GatewayClass{},
		ingressClasses: map[string]*networkingv1.IngressClass{},
		services:       map[string]*corev1.Service{},
		secrets:        map[string]*corev1.Secret{},
		slices:         map[string][]*discoveryv1.EndpointSlice{},
	}
	for _, o := range objs {
		if m := o.Meta(); m != nil {
			// Offline manifests often omit the namespace: kubectl would
			// apply them to "default".
			m.Namespace = nsOrDefault(m.Namespace)
		}
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
			ix.l4Routes = append(ix.l4Routes, tlsSource(v, o))
		case *gwv1a2.TCPRoute:
			ix.l4Routes = append(ix.l4Routes, tcpSource(v, o))
		case *gwv1a2.UDPRoute:
			ix.l4Routes = append(ix.l4Routes, udpSource(v, o))
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
		case *discoveryv1.EndpointSlice:
			svc := v.Labels[discoveryv1.LabelServiceName]
			k := key(v.Namespace, svc)
			ix.slices[k] = append(ix.slices[k], v)
		}
	}
	sortItems(ix.gateways)
	sortItems(ix.httpRoutes)
	sortItems(ix.grpcRoutes)
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
