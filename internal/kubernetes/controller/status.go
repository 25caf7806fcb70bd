package controller

import (
	"context"
	"fmt"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// statusClient reads one object of a kind from the API server (for a
// retry after a conflict) and writes its status subresource.
type statusClient struct {
	get    func(ctx context.Context, ns, name string) (runtime.Object, error)
	update func(ctx context.Context, obj runtime.Object) error
}

func typed[T runtime.Object](get func(ctx context.Context, ns, name string) (T, error), update func(ctx context.Context, obj T) error) statusClient {
	return statusClient{
		get: func(ctx context.Context, ns, name string) (runtime.Object, error) { return get(ctx, ns, name) },
		update: func(ctx context.Context, obj runtime.Object) error {
			o, ok := obj.(T)
			if !ok {
				return fmt.Errorf("status update: unexpected %T", obj)
			}
			return update(ctx, o)
		},
	}
}

var (
	getOpts    = metav1.GetOptions{}
	updateOpts = metav1.UpdateOptions{}
)

// statusClients are the kinds whose status this controller writes.
func statusClients(kube kubeclient.Interface, gw gwclient.Interface) map[string]statusClient {
	v1 := gw.GatewayV1()
	return map[string]statusClient{
		"GatewayClass": typed(func(ctx context.Context, _, name string) (*gwv1.GatewayClass, error) {
			return v1.GatewayClasses().Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *gwv1.GatewayClass) error {
			_, err := v1.GatewayClasses().UpdateStatus(ctx, o, updateOpts)
			return err
		}),
		"Gateway": typed(func(ctx context.Context, ns, name string) (*gwv1.Gateway, error) {
			return v1.Gateways(ns).Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *gwv1.Gateway) error {
			_, err := v1.Gateways(o.Namespace).UpdateStatus(ctx, o, updateOpts)
			return err
		}),
		"HTTPRoute": typed(func(ctx context.Context, ns, name string) (*gwv1.HTTPRoute, error) {
			return v1.HTTPRoutes(ns).Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *gwv1.HTTPRoute) error {
			_, err := v1.HTTPRoutes(o.Namespace).UpdateStatus(ctx, o, updateOpts)
			return err
		}),
		"GRPCRoute": typed(func(ctx context.Context, ns, name string) (*gwv1.GRPCRoute, error) {
			return v1.GRPCRoutes(ns).Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *gwv1.GRPCRoute) error {
			_, err := v1.GRPCRoutes(o.Namespace).UpdateStatus(ctx, o, updateOpts)
			return err
		}),
		"TLSRoute": typed(func(ctx context.Context, ns, name string) (*gwv1.TLSRoute, error) {
			return v1.TLSRoutes(ns).Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *gwv1.TLSRoute) error {
			_, err := v1.TLSRoutes(o.Namespace).UpdateStatus(ctx, o, updateOpts)
			return err
		}),
		"TCPRoute": typed(func(ctx context.Context, ns, name string) (*gwv1.TCPRoute, error) {
			return v1.TCPRoutes(ns).Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *gwv1.TCPRoute) error {
			_, err := v1.TCPRoutes(o.Namespace).UpdateStatus(ctx, o, updateOpts)
			return err
		}),
		"UDPRoute": typed(func(ctx context.Context, ns, name string) (*gwv1.UDPRoute, error) {
			return v1.UDPRoutes(ns).Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *gwv1.UDPRoute) error {
			_, err := v1.UDPRoutes(o.Namespace).UpdateStatus(ctx, o, updateOpts)
			return err
		}),
		"BackendTLSPolicy": typed(func(ctx context.Context, ns, name string) (*gwv1.BackendTLSPolicy, error) {
			return v1.BackendTLSPolicies(ns).Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *gwv1.BackendTLSPolicy) error {
			_, err := v1.BackendTLSPolicies(o.Namespace).UpdateStatus(ctx, o, updateOpts)
			return err
		}),
		"Ingress": typed(func(ctx context.Context, ns, name string) (*networkingv1.Ingress, error) {
			return kube.NetworkingV1().Ingresses(ns).Get(ctx, name, getOpts)
		}, func(ctx context.Context, o *networkingv1.Ingress) error {
			_, err := kube.NetworkingV1().Ingresses(o.Namespace).UpdateStatus(ctx, o, updateOpts)
			return err
		}),
	}
}

// statusWriter writes a Result's conditions back to the objects.
type statusWriter struct {
	clients map[string]statusClient
	opts    kubernetes.StatusOptions
}

// candidates are the cached objects (copies) whose status is ours to
// write: GatewayClasses of our controllerName and their Gateways, every
// route and BackendTLSPolicy (ApplyStatus replaces only our own parent
// entries), and the Ingresses the translator reported on.
func (w *statusWriter) candidates(ws *watchSet, res *kubernetes.Result) []runtime.Object {
	ours := map[string]bool{}
	for _, s := range ws.sources {
		if s.kind != "GatewayClass" {
			continue
		}
		for _, item := range s.inf.GetStore().List() {
			if gc, ok := item.(*gwv1.GatewayClass); ok && string(gc.Spec.ControllerName) == w.opts.ControllerName {
				ours[gc.Name] = true
			}
		}
	}
	ingresses := map[string]bool{}
	for _, st := range res.Statuses {
		if st.Kind == "Ingress" {
			ingresses[st.Namespace+"/"+st.Name] = true
		}
	}
	var out []runtime.Object
	for _, s := range ws.sources {
		if _, ok := w.clients[s.kind]; !ok {
			continue
		}
		for _, item := range s.inf.GetStore().List() {
			keep := true
			switch o := item.(type) {
			case *gwv1.GatewayClass:
				keep = ours[o.Name]
			case *gwv1.Gateway:
				keep = ours[string(o.Spec.GatewayClassName)]
			case *networkingv1.Ingress:
				keep = ingresses[o.Namespace+"/"+o.Name]
			}
			if ro, ok := item.(runtime.Object); ok && keep {
				out = append(out, ro.DeepCopyObject())
			}
		}
	}
	return out
}

// write applies res to every candidate and updates the status of those
// ApplyStatus changed. A conflict (someone else updated the object since
// the cache saw it) re-reads the object and applies again. It returns the
// number of status updates and the errors of the objects that failed;
// one failing object does not stop the others.
func (w *statusWriter) write(ctx context.Context, ws *watchSet, res *kubernetes.Result) (int, []error) {
	n := 0
	var errs []error
	w.opts.Now = time.Now()
	for _, obj := range w.candidates(ws, res) {
		kind := kindOf(obj)
		c := w.clients[kind]
		m, err := meta.Accessor(obj)
		if err != nil {
			continue
		}
		ns, name := m.GetNamespace(), m.GetName()
		first := true
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cur := obj
			if !first {
				fresh, err := c.get(ctx, ns, name)
				if err != nil {
					return err
				}
				cur = fresh
			}
			first = false
			if !res.ApplyStatus(cur, w.opts) {
				return nil
			}
			if err := c.update(ctx, cur); err != nil {
				return err
			}
			n++
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %s/%s: status update: %w", kind, ns, name, err))
		}
	}
	return n, errs
}

// kindOf names the kind of a typed object (informer objects have no
// TypeMeta).
func kindOf(obj runtime.Object) string {
	switch obj.(type) {
	case *gwv1.GatewayClass:
		return "GatewayClass"
	case *gwv1.Gateway:
		return "Gateway"
	case *gwv1.HTTPRoute:
		return "HTTPRoute"
	case *gwv1.GRPCRoute:
		return "GRPCRoute"
	case *gwv1.TLSRoute:
		return "TLSRoute"
	case *gwv1.TCPRoute:
		return "TCPRoute"
	case *gwv1.UDPRoute:
		return "UDPRoute"
	case *gwv1.BackendTLSPolicy:
		return "BackendTLSPolicy"
	case *networkingv1.Ingress:
		return "Ingress"
	}
	return ""
}
