package gatewayapi

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1a2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
	gwv1a3 "sigs.k8s.io/gateway-api/apis/v1alpha3"
	gwv1b1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	gwxv1a1 "sigs.k8s.io/gateway-api/apisx/v1alpha1"
)

// cluster is the stand-in for the API server: controller-runtime's fake
// client (an in-memory object tracker with status subresources) plus the
// two things the tracker does not do that the suite checks:
// metadata.generation, bumped on spec changes as the API server does
// (Kubernetes API conventions, "metadata.generation": "a sequence number
// representing a specific generation of the desired state"), the CRD
// schema defaults (crds_test.go), and a
// notification on every write so the controller and kubelet stand-ins
// react instead of polling.
type cluster struct {
	client.WithWatch
	scheme  *runtime.Scheme
	crds    *crds
	changed chan struct{} // capacity 1: a pending "something changed"
}

// statusKinds have a status subresource: Update ignores their status and
// Status().Update changes nothing else, as on a real API server.
func statusKinds() []client.Object {
	return []client.Object{
		&gwv1.GatewayClass{}, &gwv1.Gateway{}, &gwv1.HTTPRoute{}, &gwv1.GRPCRoute{},
		&gwv1.TLSRoute{}, &gwv1.TCPRoute{}, &gwv1.UDPRoute{}, &gwv1.BackendTLSPolicy{},
		&gwv1.ListenerSet{}, &gwv1a2.TCPRoute{}, &gwv1a2.UDPRoute{}, &gwv1a2.TLSRoute{},
	}
}

func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		clientgoscheme.AddToScheme, // core, apps, discovery, networking, ...
		apiextensionsv1.AddToScheme,
		gwv1.Install, gwv1b1.Install, gwv1a2.Install, gwv1a3.Install, gwxv1a1.Install,
	} {
		if err := add(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func newCluster() (*cluster, error) {
	s, err := newScheme()
	if err != nil {
		return nil, err
	}
	defs, err := loadCRDs()
	if err != nil {
		return nil, err
	}
	c := &cluster{scheme: s, crds: defs, changed: make(chan struct{}, 1)}
	base := fake.NewClientBuilder().WithScheme(s).WithStatusSubresource(statusKinds()...).Build()
	c.WithWatch = interceptor.NewClient(base, interceptor.Funcs{
		Create: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if obj.GetGeneration() == 0 {
				obj.SetGeneration(1)
			}
			excludeFromReadiness(obj)
			if err := c.crds.applyDefaults(c.scheme, obj); err != nil {
				return err
			}
			labelNamespace(obj)
			defer c.notify()
			return cl.Create(ctx, obj, opts...)
		},
		Update: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if err := c.crds.applyDefaults(c.scheme, obj); err != nil {
				return err
			}
			old, ok := obj.DeepCopyObject().(client.Object)
			if !ok {
				return fmt.Errorf("%T is not a client.Object", obj)
			}
			if err := cl.Get(ctx, client.ObjectKeyFromObject(obj), old); err == nil {
				gen := old.GetGeneration()
				if differ, err := c.specDiffers(old, obj); err != nil {
					return err
				} else if differ {
					gen++
				}
				obj.SetGeneration(gen)
			}
			defer c.notify()
			return cl.Update(ctx, obj, opts...)
		},
		Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, patch client.Patch, opts ...client.PatchOption) error {
			old, _ := obj.DeepCopyObject().(client.Object)
			getErr := cl.Get(ctx, client.ObjectKeyFromObject(obj), old)
			defer c.notify()
			if err := cl.Patch(ctx, obj, patch, opts...); err != nil || getErr != nil {
				return err
			}
			if differ, err := c.specDiffers(old, obj); err != nil || !differ {
				return err
			}
			obj.SetGeneration(old.GetGeneration() + 1)
			return cl.Update(ctx, obj)
		},
		Delete: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			defer c.notify()
			return cl.Delete(ctx, obj, opts...)
		},
		DeleteAllOf: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.DeleteAllOfOption) error {
			defer c.notify()
			return cl.DeleteAllOf(ctx, obj, opts...)
		},
	})
	return c, nil
}

// labelNamespace adds the label the API server puts on every Namespace
// (kubernetes.io/metadata.name, "NamespaceDefaultLabelName", Kubernetes
// 1.22+), which the suite's allowedRoutes selectors match.
func labelNamespace(obj client.Object) {
	if obj.GetObjectKind().GroupVersionKind().Kind != "Namespace" {
		if _, ok := obj.(*corev1.Namespace); !ok {
			return
		}
	}
	l := obj.GetLabels()
	if l == nil {
		l = map[string]string{}
	}
	l[corev1.LabelMetadataName] = obj.GetName()
	obj.SetLabels(l)
}

// notify records that an object changed; it never blocks.
func (c *cluster) notify() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// specDiffers compares everything but metadata and status of two forms
// of one object, both normalised through the scheme's Go type so that an
// unstructured manifest and the stored typed object compare equal when
// they mean the same.
func (c *cluster) specDiffers(a, b client.Object) (bool, error) {
	na, err := c.desired(a)
	if err != nil {
		return false, err
	}
	nb, err := c.desired(b)
	if err != nil {
		return false, err
	}
	return !reflect.DeepEqual(na, nb), nil
}

func (c *cluster) desired(obj client.Object) (map[string]any, error) {
	var typed runtime.Object = obj
	if u, ok := obj.(*unstructured.Unstructured); ok {
		n, err := c.scheme.New(u.GroupVersionKind())
		if err != nil {
			return nil, err
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, n); err != nil {
			return nil, err
		}
		typed = n
	}
	data, err := json.Marshal(typed)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	for _, k := range []string{"metadata", "status", "apiVersion", "kind"} {
		delete(m, k)
	}
	return m, nil
}

// installCRDs creates the Gateway API CustomResourceDefinitions: the
// suite reads the installed bundle version and channel from their
// annotations (and refuses a mismatch).
func (c *cluster) installCRDs(ctx context.Context) error {
	for _, crd := range c.crds.objs {
		if err := c.Create(ctx, crd.DeepCopy()); err != nil {
			return err
		}
	}
	return nil
}
