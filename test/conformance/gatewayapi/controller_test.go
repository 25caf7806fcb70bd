package gatewayapi

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1a2 "sigs.k8s.io/gateway-api/apis/v1alpha2"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/configsource"
	"github.com/gatehouse/gatehouse/internal/gateway"
	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// controller is the Gatehouse controller as the conformance suite sees
// it, minus client-go: on every change in the fake cluster it lists the
// objects, translates them (configsource.Build, as file mode does),
// applies the configuration to in-process gateways, and only then writes
// the statuses (kubernetes.Result.ApplyStatus), so a condition the suite
// observes is already being served.
//
// Each Gateway gets a data plane of its own (an internal/gateway instance
// on its own loopback address, ports moved by portOffset), as a cluster
// gives each Gateway its own address: the suite's base manifests hold
// several Gateways listening on port 80 without hostnames, which one
// shared socket would have to refuse as conflicting.
type controller struct {
	cl      *cluster
	kubelet *kubelet
	dir     string
	log     *slog.Logger
	logFile *os.File

	mu     sync.Mutex // serialises reconciles
	planes map[string]*dataPlane
	nextIP int
	// errors of the last translation, for the report
	lastErrs []string
}

// dataPlane serves one Gateway.
type dataPlane struct {
	ip, dir  string
	gw       *gateway.Gateway
	cfg      *config.Config // what gw's loader returns; under controller.mu
	lastYAML []byte         // the translation last served
}

func newController(cl *cluster, dir string) (*controller, error) {
	f, err := os.Create(filepath.Join(dir, "gatehouse.log"))
	if err != nil {
		return nil, err
	}
	return &controller{
		cl: cl, kubelet: newKubelet(cl), dir: dir, logFile: f, planes: map[string]*dataPlane{},
		log: slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}, nil
}

// run reconciles on every change notification until ctx ends, retrying
// a failed reconcile after a short pause.
func (c *controller) run(ctx context.Context) {
	retry := time.NewTimer(time.Hour)
	defer retry.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.cl.changed:
		case <-retry.C:
		}
		if err := c.reconcile(ctx); err != nil && ctx.Err() == nil {
			c.log.Warn("reconcile failed; retrying", "error", err)
			retry.Reset(100 * time.Millisecond)
		}
	}
}

func (c *controller) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, p := range c.planes {
		if p.gw != nil {
			p.gw.Shutdown()
		}
	}
	c.kubelet.stopAll()
	c.logFile.Close()
}

// translatedLists are the kinds handed to the translator.
func translatedLists() []client.ObjectList {
	return []client.ObjectList{
		&gwv1.GatewayClassList{}, &gwv1.GatewayList{}, &gwv1.HTTPRouteList{}, &gwv1.GRPCRouteList{},
		&gwv1.ReferenceGrantList{}, &gwv1.BackendTLSPolicyList{},
		&gwv1.TLSRouteList{}, &gwv1.TCPRouteList{}, &gwv1.UDPRouteList{},
		&gwv1a2.TLSRouteList{}, &gwv1a2.TCPRouteList{}, &gwv1a2.UDPRouteList{},
		&corev1.ServiceList{}, &corev1.SecretList{}, &corev1.ConfigMapList{}, &corev1.NamespaceList{},
		&discoveryv1.EndpointSliceList{}, &networkingv1.IngressList{}, &networkingv1.IngressClassList{},
	}
}

// objects lists the cluster as the translator's input: typed objects
// named "<Kind> <namespace>/<name>" (line 0: they come from no file).
func (c *controller) objects(ctx context.Context) ([]kubernetes.Object, []client.Object, error) {
	var objs []kubernetes.Object
	var live []client.Object
	for _, l := range translatedLists() {
		if err := c.cl.List(ctx, l); err != nil {
			return nil, nil, err
		}
		items, err := meta.ExtractList(l)
		if err != nil {
			return nil, nil, err
		}
		for _, it := range items {
			o, ok := it.(client.Object)
			if !ok {
				continue
			}
			gvk, err := apiutil.GVKForObject(o, c.cl.scheme)
			if err != nil {
				return nil, nil, err
			}
			live = append(live, o)
			objs = append(objs, kubernetes.Object{
				File:       fmt.Sprintf("%s %s/%s", gvk.Kind, o.GetNamespace(), o.GetName()),
				APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind, Obj: o,
			})
		}
	}
	return objs, live, nil
}

// copyObjects deep-copies objs: Translate may default fields in place.
func copyObjects(objs []kubernetes.Object) []kubernetes.Object {
	out := make([]kubernetes.Object, len(objs))
	for i, o := range objs {
		o.Obj = o.Obj.(runtime.Object).DeepCopyObject()
		out[i] = o
	}
	return out
}

// reconcile is one pass: pods and endpoints, one translation per Gateway
// (the Gateway and everything that is not a Gateway), data planes,
// statuses.
func (c *controller) reconcile(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.kubelet.sync(ctx); err != nil {
		return fmt.Errorf("kubelet: %w", err)
	}
	objs, live, err := c.objects(ctx)
	if err != nil {
		return err
	}
	var gateways, rest []kubernetes.Object
	for _, o := range objs {
		if o.Kind == "Gateway" {
			gateways = append(gateways, o)
		} else {
			rest = append(rest, o)
		}
	}
	merged := &kubernetes.Result{}
	errs := map[string]bool{}
	addresses := map[string]string{}
	if len(gateways) == 0 { // still report the GatewayClass
		merged.Statuses = kubernetes.Translate(copyObjects(rest), kubernetes.Options{PortOffset: portOffset}).Statuses
	}
	var firstErr error
	for _, g := range gateways {
		key := g.Obj.(client.Object).GetNamespace() + "/" + g.Obj.(client.Object).GetName()
		p := c.plane(key)
		addresses[key] = p.ip
		res, err := c.serve(p, append(copyObjects(rest), copyObjects([]kubernetes.Object{g})...))
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("gateway %s: %w", key, err)
		}
		for _, e := range res.Errors {
			errs[e.Error()] = true
		}
		mergeStatuses(merged, res, key)
	}
	for key, p := range c.planes { // Gateways that are gone
		if _, ok := addresses[key]; !ok {
			if p.gw != nil {
				p.gw.Shutdown()
			}
			delete(c.planes, key)
		}
	}
	c.lastErrs = c.lastErrs[:0]
	for e := range errs {
		c.lastErrs = append(c.lastErrs, e)
	}
	if err := c.writeStatuses(ctx, merged, live, addresses); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// translationErrors are the errors of the last reconcile's translations.
func (c *controller) translationErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lastErrs)
}

// plane returns the data plane of Gateway key, giving a new Gateway the
// next address of 127.0.100.0/24 (never reused).
func (c *controller) plane(key string) *dataPlane {
	if p, ok := c.planes[key]; ok {
		return p
	}
	c.nextIP++
	p := &dataPlane{ip: fmt.Sprintf("127.0.100.%d", c.nextIP), dir: filepath.Join(c.dir, fmt.Sprintf("gw%d", c.nextIP))}
	c.planes[key] = p
	return p
}

// mergeStatuses adds the statuses of one Gateway's translation: that
// Gateway's own, route parent sections naming it, and (first come) the
// object-wide ones of everything else.
func mergeStatuses(merged, res *kubernetes.Result, gwKey string) {
	for _, s := range res.Statuses {
		if s.Kind == "Gateway" {
			if s.Namespace+"/"+s.Name == gwKey {
				merged.Statuses = append(merged.Statuses, s)
			}
			continue
		}
		if ref, ok := strings.CutPrefix(s.Section, "Gateway "); ok {
			// "Gateway NS/NAME[/SECTION][:PORT]" (kubernetes.parentSection);
			// names hold neither '/' nor ':'.
			ns, rest, _ := strings.Cut(ref, "/")
			name := rest
			if i := strings.IndexAny(rest, "/:"); i >= 0 {
				name = rest[:i]
			}
			if ns+"/"+name == gwKey {
				merged.Statuses = append(merged.Statuses, s)
			}
			continue
		}
		if _, dup := merged.Find(s.Kind, s.Namespace, s.Name, s.Section); !dup {
			merged.Statuses = append(merged.Statuses, s)
		}
	}
}

// serve builds a data plane's configuration as file mode does
// (configsource.Build: the translation merged with Gatehouse YAML, here
// only the harness's own settings) and starts or reloads its gateway when
// the translation changed. A configuration Build refuses is logged and
// left unserved until the objects change: the translator promises never
// to produce one.
func (c *controller) serve(p *dataPlane, objs []kubernetes.Object) (*kubernetes.Result, error) {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return nil, err
	}
	// The access log goes to the plane's directory (not the test's
	// output); reloads and shutdowns drain for a second.
	own := fmt.Appendf(nil, "access_log:\n  path: %s\nshutdown:\n  grace_period: 1s\n", filepath.Join(p.dir, "access.log"))
	cfg, res, err := configsource.Build([]configsource.Document{{Name: filepath.Join(p.dir, "harness.yaml"), Data: own}}, objs,
		kubernetes.Options{ListenHost: p.ip, PortOffset: portOffset, SecretDir: filepath.Join(p.dir, "secrets")})
	if res == nil {
		return nil, err
	}
	out, encErr := res.Encode()
	if encErr != nil {
		return res, fmt.Errorf("encode: %w", encErr)
	}
	if bytes.Equal(out, p.lastYAML) {
		return res, nil
	}
	p.lastYAML = out
	if err != nil {
		c.log.Error("translated configuration refused", "error", err, "yaml", string(out))
		return res, nil
	}
	if len(cfg.Listeners) == 0 {
		if p.gw != nil {
			p.gw.Shutdown()
			p.gw = nil
		}
		return res, nil
	}
	p.cfg = cfg
	if p.gw == nil {
		g := gateway.NewWithLoader(filepath.Join(p.dir, "harness.yaml"), func() (*config.Config, error) { return p.cfg, nil }, c.log.With("gateway", p.ip))
		if err := g.Start(); err != nil {
			g.Shutdown()
			p.lastYAML = nil // retry
			return res, fmt.Errorf("start: %w", err)
		}
		p.gw = g
	} else if err := p.gw.Reload(); err != nil {
		p.lastYAML = nil
		return res, fmt.Errorf("reload: %w", err)
	}
	return res, nil
}

// writeStatuses applies the statuses to fresh copies of the live objects
// and writes those that changed; each Gateway gets its data plane's
// address. A conflict (the object changed meanwhile) is retried by the
// next reconcile, which that change itself triggers.
func (c *controller) writeStatuses(ctx context.Context, res *kubernetes.Result, live []client.Object, addresses map[string]string) error {
	var firstErr error
	for _, o := range live {
		obj, ok := o.DeepCopyObject().(client.Object)
		if !ok {
			continue
		}
		var opts kubernetes.StatusOptions
		if ip, ok := addresses[obj.GetNamespace()+"/"+obj.GetName()]; ok {
			if _, isGW := obj.(*gwv1.Gateway); isGW {
				opts.Addresses = []gwv1.GatewayStatusAddress{{Type: new(gwv1.IPAddressType), Value: ip}}
			}
		}
		if !res.ApplyStatus(obj, opts) {
			continue
		}
		if err := c.cl.Status().Update(ctx, obj); err != nil && !apierrors.IsNotFound(err) && firstErr == nil {
			firstErr = fmt.Errorf("status of %T %s/%s: %w", obj, obj.GetNamespace(), obj.GetName(), err)
		}
	}
	return firstErr
}
