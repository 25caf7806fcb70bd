package controller

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	kubeclient "k8s.io/client-go/kubernetes"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

// Controller watches a cluster and keeps Gatehouse's configuration and
// the objects' status in step with it.
type Controller struct {
	cfg      Config
	kube     kubeclient.Interface
	gw       gwclient.Interface
	status   statusWriter
	events   chan struct{} // an object changed (capacity 1: a flag)
	promoted chan struct{} // this replica became leader
	leading  atomic.Bool

	last     *kubernetes.Result // last successful build; loop goroutine only
	lastErrs string             // its errors, to log only changes
}

// New returns a controller for the cluster behind kube and gw (real or
// fake clientsets). Run starts it.
func New(kube kubeclient.Interface, gw gwclient.Interface, cfg Config) (*Controller, error) {
	if cfg.Build == nil {
		return nil, errors.New("kubernetes controller: Config.Build is required")
	}
	cfg = cfg.withDefaults()
	return &Controller{
		cfg: cfg, kube: kube, gw: gw,
		status: statusWriter{clients: statusClients(kube, gw), opts: kubernetes.StatusOptions{
			ControllerName: cfg.ControllerName, Addresses: cfg.Addresses, IngressIPs: cfg.IngressIPs,
		}},
		events:   make(chan struct{}, 1),
		promoted: make(chan struct{}, 1),
	}, nil
}

// Run watches until ctx ends: it waits for the informers' first lists,
// builds once, then rebuilds after every settled burst of changes. It
// returns ctx's error once everything it started has stopped (the lease
// released, the informers shut down).
func (c *Controller) Run(ctx context.Context) error {
	served, err := servedGatewayKinds(c.gw)
	if err != nil {
		c.cfg.Log.Warn("kubernetes: Gateway API not served (CRDs not installed?); watching Ingress only", "error", err.Error())
	}
	dyn := c.cfg.Dynamic
	if dyn != nil && !policiesServed(c.kube.Discovery()) {
		c.cfg.Log.Info("kubernetes: GatehousePolicy CRD not installed; ExtensionRef policies cannot resolve")
		dyn = nil
	}
	ws := newWatchSet(c.kube, c.gw, dyn, c.cfg.Namespaces, served)
	if err := ws.onChange(func() { c.signal(c.events) }); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		ws.shutdown()
	}()
	ws.start(ctx.Done())
	if !ws.synced(ctx.Done()) {
		return ctx.Err()
	}
	if c.cfg.DisableLeaderElection {
		c.leading.Store(true)
	} else {
		wg.Go(func() { c.elect(ctx) })
	}
	c.drain(c.events) // the first build sees everything listed so far
	c.sync(ctx, ws)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.promoted:
			// A new leader writes every status once, for what it serves.
			if c.last != nil && c.leading.Load() {
				c.writeStatus(ctx, ws, c.last)
			}
		case <-c.events:
			if !settle(ctx, c.events, c.cfg.Quiet, c.cfg.MaxDelay) {
				return ctx.Err()
			}
			c.sync(ctx, ws)
		}
	}
}

// Resync asks for a rebuild, as a change would: for input Build reads
// besides the objects (the caller's own configuration files).
func (c *Controller) Resync() { c.signal(c.events) }

// IsLeader reports whether this replica currently writes status.
func (c *Controller) IsLeader() bool { return c.leading.Load() }

// sync builds from a snapshot and, when leading, writes status. A failed
// build changes nothing: the caller's running configuration stays, and
// statuses computed for a configuration that is not served are not
// written.
func (c *Controller) sync(ctx context.Context, ws *watchSet) {
	objs, policyErrs := ws.snapshot()
	res, err := c.cfg.Build(objs)
	if err != nil {
		c.cfg.Log.Error("kubernetes: rebuild rejected; keeping the running configuration", "objects", len(objs), "error", err.Error())
		return
	}
	c.last = res
	c.logErrors(res, policyErrs)
	c.cfg.Log.Debug("kubernetes: rebuilt", "objects", len(objs), "errors", len(res.Errors))
	if c.leading.Load() {
		c.writeStatus(ctx, ws, res)
	}
}

// logErrors logs the objects the translator could not use, when they
// differ from the previous build's (their statuses say the same).
func (c *Controller) logErrors(res *kubernetes.Result, more []error) {
	var msgs []string
	for _, e := range append(slices.Clip(res.Errors), more...) {
		msgs = append(msgs, e.Error())
	}
	slices.Sort(msgs)
	joined := strings.Join(msgs, "\n")
	if joined == c.lastErrs {
		return
	}
	c.lastErrs = joined
	for _, m := range msgs {
		c.cfg.Log.Warn("kubernetes: object not used", "error", m)
	}
}

func (c *Controller) writeStatus(ctx context.Context, ws *watchSet, res *kubernetes.Result) {
	n, errs := c.status.write(ctx, ws, res)
	for _, err := range errs {
		if ctx.Err() == nil {
			c.cfg.Log.Error("kubernetes: "+err.Error(), "identity", c.cfg.Identity)
		}
	}
	if n > 0 {
		c.cfg.Log.Debug("kubernetes: status written", "updates", n)
	}
}

// signal sets a capacity-1 flag channel without blocking.
func (c *Controller) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (c *Controller) drain(ch chan struct{}) {
	select {
	case <-ch:
	default:
	}
}
