package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/entry"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/listener"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// apply compiles cfg and, only if that succeeds and every new socket
// binds, makes it the running configuration. Caller holds g.mu.
//
// The phases run in this order so that everything that can fail
// (compiling, building policies, binding, starting discovery) happens
// before anything serving traffic changes.
func (g *Gateway) apply(cfg *config.Config) error {
	p, err := compile(cfg)
	if err != nil {
		return err
	}
	ps, err := g.buildPolicies(cfg, true)
	if err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			ps.discard(g)
		}
	}()
	g.warn(cfg)
	fresh, err := g.bindListeners(p)
	if err != nil {
		return err
	}
	l4fresh, err := g.bindL4(p)
	if err != nil {
		fresh.closeNew()
		return err
	}
	grace := cfg.Shutdown.GracePeriod
	if err := g.applyUpstreams(p, grace); err != nil {
		fresh.closeNew()
		l4fresh.closeNew()
		return err
	}
	g.buildRoutes(p, ps)
	g.publishListeners(p, cfg)
	tables := g.l4Tables(p)
	g.startServers(fresh, tables, cfg, grace)
	g.applyL4(p, l4fresh, tables, cfg)
	g.stopRemovedListeners(p, grace)
	g.cfg = cfg
	ps.commit(g)
	committed = true
	return nil
}

// warn logs the configuration's warnings and what a reload cannot change.
func (g *Gateway) warn(cfg *config.Config) {
	for _, w := range cfg.Warnings {
		g.log.Warn("configuration", "warning", w.String())
	}
	if g.cfg != nil && cfg.Admin != nil && (g.cfg.Admin == nil || g.cfg.Admin.Address != cfg.Admin.Address) {
		g.log.Warn("admin address changes take effect on restart", "running", g.cfg.Admin, "new", cfg.Admin.Address)
	}
}

// bound is a listener that needs a new server, with its socket: newly
// bound (new) or the running one (its address did not change).
type bound struct {
	lp   *listenerPlan
	sock *listener.Socket
	new  bool
}

type boundSet []bound

// closeNew closes the sockets bound for a configuration that will not
// take effect.
func (bs boundSet) closeNew() {
	for _, b := range bs {
		if b.new {
			b.sock.Close()
		}
	}
}

// bindListeners binds every listener that is new or moved before
// anything else: a bind failure must leave the old configuration whole.
// A listener whose other settings changed keeps its socket and gets a
// new server.
func (g *Gateway) bindListeners(p *plan) (boundSet, error) {
	var fresh boundSet
	for _, lp := range p.listeners {
		s, running := g.servers[lp.cfg.Name]
		if running && s.Settings == lp.settings && g.l4.mixKeys[lp.cfg.Name] == lp.mixKey {
			continue
		}
		if sock, ok := g.sockets[lp.cfg.Name]; ok && running && s.Settings.Address == lp.settings.Address {
			fresh = append(fresh, bound{lp, sock, false})
			continue
		}
		sock, err := listener.Bind(context.Background(), lp.settings.Address)
		if err != nil {
			fresh.closeNew()
			return nil, &config.Error{Pos: lp.cfg.Pos, Msg: fmt.Sprintf("listener %q: %v", lp.cfg.Name, err),
				Hint: "is another process using the address?"}
		}
		fresh = append(fresh, bound{lp, sock, true})
	}
	return fresh, nil
}

// applyUpstreams updates the upstream pools, kept by name with their
// targets' state, and drains the pools the configuration dropped.
func (g *Gateway) applyUpstreams(p *plan, grace time.Duration) error {
	for name, up := range p.upstreams {
		if err := g.applyUpstream(name, up, grace); err != nil {
			return err
		}
	}
	for name, cur := range g.upstreams {
		if _, ok := p.upstreams[name]; !ok {
			delete(g.upstreams, name)
			g.retireUpstream(cur, grace)
		}
	}
	return nil
}

// applyUpstream creates or updates one pool: resilience settings, the
// transport (replaced only when its settings changed), and the targets,
// from the configuration or from discovery.
func (g *Gateway) applyUpstream(name string, up *upstreamPlan, grace time.Duration) error {
	cur, ok := g.upstreams[name]
	if !ok {
		cur = &upstream{pool: balancer.NewPool(name), counters: g.metrics.Upstream(name)}
		g.upstreams[name] = cur
	}
	cur.updateResilience(up.cfg)
	cur.headers = translate.TargetHeaders(up.cfg)
	if cur.transport == nil || cur.key != up.key {
		rt, err := translate.Transport(up.cfg, cur.counters)
		if err != nil { // checked by compile; a file changed in between
			return &config.Error{Pos: up.cfg.Pos, Msg: fmt.Sprintf("upstream %q: %v", name, err)}
		}
		if old := cur.transport; old != nil {
			g.closeIdleLater(old, grace)
		}
		cur.transport, cur.key = rt, up.key
	}
	if cur.resolver != nil { // a new one (if any) starts below, with the new targets
		cur.resolver.Stop()
		cur.resolver = nil
	}
	if up.cfg.Discovery != nil {
		if err := g.startDiscovery(cur, up.cfg, grace); err != nil {
			return &config.Error{Pos: up.cfg.Pos, Msg: fmt.Sprintf("upstream %q: discovery: %v", name, err),
				Hint: "no target name resolved; check the names and the DNS server"}
		}
		return nil
	}
	if err := g.setTargets(cur, up.cfg, up.targets, grace); err != nil {
		return &config.Error{Pos: up.cfg.Pos, Msg: fmt.Sprintf("upstream %q: %v", name, err)}
	}
	return nil
}

// retireUpstream stops a dropped pool's discovery and health checks and
// drains its targets.
func (g *Gateway) retireUpstream(cur *upstream, grace time.Duration) {
	if cur.resolver != nil {
		cur.resolver.Stop()
	}
	cur.health.stop()
	for _, t := range cur.pool.Targets() {
		t.SetDraining(true)
	}
	g.l4.tracker.Drain(cur.pool.Targets(), grace)
	g.closeIdleLater(cur.transport, grace)
}

// buildRoutes gives every route its handler: policies around filters
// around the action.
func (g *Gateway) buildRoutes(p *plan, ps *policySet) {
	listeners := make([]string, len(p.listeners))
	for i, lp := range p.listeners {
		listeners[i] = lp.cfg.Name
	}
	for _, rt := range p.routes {
		rt.Handler = g.routeHandler(rt.cfg, listeners)
		if wrap := ps.wrap[rt.Name]; wrap != nil {
			rt.Handler = wrap(rt.Handler)
		}
		rt.Metrics = g.metrics.Route(rt.Name)
	}
}

// publishListeners swaps every listener's state (router, trusted
// proxies, access log, certificates): the snapshot swap. Requests in
// flight finish with the state they started with.
func (g *Gateway) publishListeners(p *plan, cfg *config.Config) {
	var log *observe.AccessLog
	if cfg.AccessLog.Enabled {
		log = g.accessLog
	}
	noRoute, badInput := g.metrics.Route("(none)"), g.metrics.Route("(bad-request)")
	for _, lp := range p.listeners {
		name := lp.cfg.Name
		e := g.entryFor(name)
		e.Store(&entry.State{Router: lp.router, Trusted: lp.trusted, NoRoute: noRoute, BadInput: badInput,
			Log: log, InFlight: g.metrics.InFlight()})
		if lp.certs != nil {
			g.certs[name].Store(lp.certs)
		}
	}
}

// startServers starts a server on every bound socket, replacing the
// listener's running server, which finishes its requests in the
// background.
func (g *Gateway) startServers(fresh boundSet, tables map[string]*l4.Table, cfg *config.Config, grace time.Duration) {
	for _, b := range fresh {
		name := b.lp.cfg.Name
		certs := g.certs[name]
		getCert := func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.Load().Get(h) }
		ln := g.passthroughFront(b, tables[name], cfg)
		srv := listener.Serve(ln, b.lp.settings, g.entries[name], getCert, g.log)
		if old, ok := g.servers[name]; ok {
			var oldSock *listener.Socket
			if b.new {
				oldSock = g.sockets[name]
			}
			g.stopLater(old, oldSock, grace)
		}
		g.servers[name] = srv
		g.sockets[name] = b.sock
		g.log.Info("listening", "listener", name, "address", srv.Addr().String(), "tls", b.lp.settings.TLS)
	}
}

// stopRemovedListeners stops the servers of listeners the configuration
// dropped.
func (g *Gateway) stopRemovedListeners(p *plan, grace time.Duration) {
	for name, s := range g.servers {
		if _, ok := g.entries[name]; ok && listenerIn(p, name) {
			continue
		}
		sock := g.sockets[name]
		g.stopMixer(name)
		delete(g.servers, name)
		delete(g.entries, name)
		delete(g.sockets, name)
		g.stopLater(s, sock, grace)
	}
}

func listenerIn(p *plan, name string) bool {
	for _, lp := range p.listeners {
		if lp.cfg.Name == name {
			return true
		}
	}
	return false
}
