package controller

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	kubeclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gwinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// gatewayGroupVersion is the only Gateway API version watched: v1.6.3's
// standard channel serves every kind the translator reads in v1, and the
// v1beta1/v1alpha2/v1alpha3 forms are the same objects served again.
const gatewayGroupVersion = gwv1.GroupName + "/v1"

// source is one informer and the apiVersion/kind its objects carry in a
// snapshot (informer objects have an empty TypeMeta).
type source struct {
	apiVersion, kind string
	inf              cache.SharedIndexInformer
}

// factory is what sources need from the informer factories (generated
// and dynamic).
type factory interface {
	Start(stopCh <-chan struct{})
	Shutdown()
}

// gatewayKind is one Gateway API kind: its resource name (for discovery)
// and its informer in a factory.
type gatewayKind struct {
	resource, kind string
	clusterScoped  bool
	informer       func(gwinformers.SharedInformerFactory) cache.SharedIndexInformer
}

var gatewayKinds = []gatewayKind{
	{"gatewayclasses", "GatewayClass", true, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().GatewayClasses().Informer()
	}},
	{"gateways", "Gateway", false, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().Gateways().Informer()
	}},
	{"httproutes", "HTTPRoute", false, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().HTTPRoutes().Informer()
	}},
	{"grpcroutes", "GRPCRoute", false, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().GRPCRoutes().Informer()
	}},
	{"referencegrants", "ReferenceGrant", false, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().ReferenceGrants().Informer()
	}},
	{"tlsroutes", "TLSRoute", false, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().TLSRoutes().Informer()
	}},
	{"tcproutes", "TCPRoute", false, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().TCPRoutes().Informer()
	}},
	{"udproutes", "UDPRoute", false, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().UDPRoutes().Informer()
	}},
	{"backendtlspolicies", "BackendTLSPolicy", false, func(f gwinformers.SharedInformerFactory) cache.SharedIndexInformer {
		return f.Gateway().V1().BackendTLSPolicies().Informer()
	}},
}

// tlsSecrets limits the Secret informer to certificates: the translator
// reads no other Secret, and not caching every token and password of the
// cluster is both smaller and safer.
func tlsSecrets(o *metav1.ListOptions) {
	o.FieldSelector = "type=" + string(corev1.SecretTypeTLS)
}

// watchSet is every informer of one controller.
type watchSet struct {
	sources   []source
	factories []factory
}

// servedGatewayKinds asks discovery which Gateway API resources the
// cluster serves: an informer for a CRD that is not installed (TCPRoute
// and UDPRoute are experimental) would never sync.
func servedGatewayKinds(gw gwclient.Interface) (map[string]bool, error) {
	list, err := gw.Discovery().ServerResourcesForGroupVersion(gatewayGroupVersion)
	if err != nil {
		return nil, err
	}
	served := map[string]bool{}
	for _, r := range list.APIResources {
		served[r.Name] = true
	}
	return served, nil
}

// newWatchSet creates (without starting) the informers: the core and
// networking kinds always, the Gateway API kinds that served says exist,
// GatehousePolicy when dyn is not nil. namespaces empty means all
// namespaces.
func newWatchSet(kube kubeclient.Interface, gw gwclient.Interface, dyn dynamic.Interface, namespaces []string, served map[string]bool) *watchSet {
	ws := &watchSet{}
	nsList := namespaces
	if len(nsList) == 0 {
		nsList = []string{metav1.NamespaceAll}
	}
	cluster := informers.NewSharedInformerFactory(kube, 0)
	ws.factories = append(ws.factories, cluster)
	ws.add("v1", "Namespace", cluster.Core().V1().Namespaces().Informer())
	ws.add("networking.k8s.io/v1", "IngressClass", cluster.Networking().V1().IngressClasses().Informer())
	for _, ns := range nsList {
		f := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(ns))
		secrets := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(ns), informers.WithTweakListOptions(tlsSecrets))
		ws.factories = append(ws.factories, f, secrets)
		ws.add("v1", "Service", f.Core().V1().Services().Informer())
		ws.add("v1", "ConfigMap", f.Core().V1().ConfigMaps().Informer())
		ws.add("discovery.k8s.io/v1", "EndpointSlice", f.Discovery().V1().EndpointSlices().Informer())
		ws.add("networking.k8s.io/v1", "Ingress", f.Networking().V1().Ingresses().Informer())
		ws.add("v1", "Secret", secrets.Core().V1().Secrets().Informer())
	}
	gwCluster := gwinformers.NewSharedInformerFactory(gw, 0)
	ws.factories = append(ws.factories, gwCluster)
	gwFactories := make([]gwinformers.SharedInformerFactory, len(nsList))
	for i, ns := range nsList {
		gwFactories[i] = gwinformers.NewSharedInformerFactoryWithOptions(gw, 0, gwinformers.WithNamespace(ns))
		ws.factories = append(ws.factories, gwFactories[i])
	}
	for _, k := range gatewayKinds {
		if !served[k.resource] {
			continue
		}
		if k.clusterScoped {
			ws.add(gatewayGroupVersion, k.kind, k.informer(gwCluster))
			continue
		}
		for _, f := range gwFactories {
			ws.add(gatewayGroupVersion, k.kind, k.informer(f))
		}
	}
	if dyn != nil {
		ws.addPolicies(dyn, nsList)
	}
	return ws
}

func (ws *watchSet) add(apiVersion, kind string, inf cache.SharedIndexInformer) {
	ws.sources = append(ws.sources, source{apiVersion, kind, inf})
}

// onChange calls poke for every add and delete, and for updates that
// change more than status and bookkeeping: the controller's own status
// writes come back as updates and must not cause a rebuild loop.
func (ws *watchSet) onChange(poke func()) error {
	h := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		DeleteFunc: func(any) { poke() },
		UpdateFunc: func(old, cur any) {
			if !sameContent(old, cur) {
				poke()
			}
		},
	}
	for _, s := range ws.sources {
		if _, err := s.inf.AddEventHandler(h); err != nil {
			return err
		}
	}
	return nil
}

// sameContent reports whether two versions of an object differ only in
// status, resourceVersion and managedFields.
func sameContent(a, b any) bool {
	// The converter returns an Unstructured's own map: copy it first, the
	// cache's objects must not change.
	if u, ok := a.(*unstructured.Unstructured); ok {
		a = u.DeepCopy()
	}
	if u, ok := b.(*unstructured.Unstructured); ok {
		b = u.DeepCopy()
	}
	ua, err := runtime.DefaultUnstructuredConverter.ToUnstructured(a)
	if err != nil {
		return false
	}
	ub, err := runtime.DefaultUnstructuredConverter.ToUnstructured(b)
	if err != nil {
		return false
	}
	for _, u := range []map[string]any{ua, ub} {
		delete(u, "status")
		if m, ok := u["metadata"].(map[string]any); ok {
			delete(m, "resourceVersion")
			delete(m, "managedFields")
		}
	}
	return reflect.DeepEqual(ua, ub)
}

func (ws *watchSet) start(stop <-chan struct{}) {
	for _, f := range ws.factories {
		f.Start(stop)
	}
}

// synced waits for every informer's first list; false if stop closed first.
func (ws *watchSet) synced(stop <-chan struct{}) bool {
	for _, s := range ws.sources {
		if !cache.WaitForCacheSync(stop, s.inf.HasSynced) {
			return false
		}
	}
	return true
}

func (ws *watchSet) shutdown() {
	for _, f := range ws.factories {
		f.Shutdown()
	}
}

// snapshot copies every cached object into translator input. Objects are
// deep-copied: the cache is shared with the informers and must never be
// modified, and the translator normalises what it reads. Gateways whose
// GatewayClass does not exist are left out: in a cluster an absent class
// means "not ours yet", unlike file mode, where it means "not written".
// GatehousePolicy objects whose spec does not decode are left out and
// returned as errors (the rules naming them answer 500).
func (ws *watchSet) snapshot() ([]kubernetes.Object, []error) {
	var objs []kubernetes.Object
	var errs []error
	classes := map[string]bool{}
	for _, s := range ws.sources {
		for _, item := range s.inf.GetStore().List() {
			ro, ok := item.(runtime.Object)
			if !ok {
				continue
			}
			obj := ro.DeepCopyObject()
			m, err := meta.Accessor(obj)
			if err != nil {
				continue
			}
			file := s.kind + " " + m.GetName()
			if m.GetNamespace() != "" {
				file = fmt.Sprintf("%s %s/%s", s.kind, m.GetNamespace(), m.GetName())
			}
			if gc, ok := obj.(*gwv1.GatewayClass); ok {
				classes[gc.Name] = true
			}
			if u, ok := obj.(*unstructured.Unstructured); ok {
				o, err := policyObject(u, file)
				if err != nil {
					errs = append(errs, err)
					continue
				}
				objs = append(objs, o)
				continue
			}
			objs = append(objs, kubernetes.Object{File: file, APIVersion: s.apiVersion, Kind: s.kind, Obj: obj})
		}
	}
	objs = slices.DeleteFunc(objs, func(o kubernetes.Object) bool {
		g, ok := o.Obj.(*gwv1.Gateway)
		return ok && !classes[string(g.Spec.GatewayClassName)]
	})
	slices.SortFunc(objs, func(a, b kubernetes.Object) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.File, b.File))
	})
	return objs, errs
}
