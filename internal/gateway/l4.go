package gateway

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/tcpproxy"
	"github.com/gatehouse/gatehouse/internal/l4/udpproxy"
	"github.com/gatehouse/gatehouse/internal/listener"
	"github.com/gatehouse/gatehouse/internal/observe"
)

// l4State is the gateway's L4 side: the running tcp, tls and udp
// listeners, the passthrough fronts of https listeners, and the tracker
// every forwarded connection registers with (for draining).
type l4State struct {
	tracker *l4.Tracker
	running map[string]*l4Running
	// mixers are the passthrough fronts of https listeners with L4
	// routes, by listener name; the HTTP server behind one gets the
	// connections it does not pass through.
	mixers  map[string]*tcpproxy.Server
	mixKeys map[string]string // listenerPlan.mixKey of each front
}

// l4Running is one running L4 listener.
type l4Running struct {
	key  l4Key
	sock *listener.Socket // tcp and tls
	pc   net.PacketConn   // udp
	tcp  *tcpproxy.Server
	udp  *udpproxy.Server
}

// l4Key holds what needs a new server to change; routes, certificates
// and upstreams change under a running one.
type l4Key struct {
	protocol, address string
	maxConns          int
	idle              time.Duration
	accept            string // the PROXY accept policy, printed
	accessLog         bool
	tls               listener.Settings
	// alpn is what a tls listener offers: the protocols its routes match
	// (ALPN is negotiated before routing), comma-separated.
	alpn string
}

// l4Plan is a compiled L4 listener.
type l4Plan struct {
	cfg    *config.Listener
	routes []*config.L4Route
	certs  *listener.Certificates // tls listeners
	key    l4Key
}

// compileL4Listener builds a tcp, tls or udp listener's plan.
func compileL4Listener(lc *config.Listener, routes []*config.L4Route, accessLog bool) (*l4Plan, config.Errors) {
	l, errs := translate.Listener(lc)
	return &l4Plan{cfg: lc, routes: routes, certs: l.Certs, key: l4Key{
		protocol: lc.Protocol, address: lc.Address, maxConns: lc.MaxConnections, idle: lc.Timeouts.Idle,
		accept: fmt.Sprint(translate.ProxyAccept(lc.ProxyProtocol)), accessLog: accessLog, tls: l.Settings,
		alpn: strings.Join(routeALPN(routes), ","),
	}}, errs
}

// routeALPN is every protocol the routes match on, in order, once each.
func routeALPN(routes []*config.L4Route) []string {
	var out []string
	for _, r := range routes {
		if r.Match != nil {
			for _, p := range r.Match.ALPN {
				if !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// l4Bound is an L4 listener that needs a new server, with its socket.
type l4Bound struct {
	lp   *l4Plan
	sock *listener.Socket
	pc   net.PacketConn
	new  bool
}

type l4BoundSet []l4Bound

func (bs l4BoundSet) closeNew() {
	for _, b := range bs {
		if !b.new {
			continue
		}
		if b.sock != nil {
			b.sock.Close()
		}
		if b.pc != nil {
			b.pc.Close()
		}
	}
}

// bindL4 binds every L4 listener that is new or moved, keeping the
// socket of one whose address and protocol did not change.
func (g *Gateway) bindL4(p *plan) (l4BoundSet, error) {
	var fresh l4BoundSet
	for _, lp := range p.l4 {
		r, running := g.l4.running[lp.cfg.Name]
		if running && r.key == lp.key {
			continue
		}
		if running && r.key.address == lp.key.address && (r.pc != nil) == (lp.cfg.Protocol == "udp") {
			fresh = append(fresh, l4Bound{lp: lp, sock: r.sock, pc: r.pc})
			continue
		}
		b := l4Bound{lp: lp, new: true}
		var err error
		if lp.cfg.Protocol == "udp" {
			b.pc, err = net.ListenPacket("udp", lp.cfg.Address)
		} else {
			b.sock, err = listener.Bind(context.Background(), lp.cfg.Address)
		}
		if err != nil {
			fresh.closeNew()
			return nil, &config.Error{Pos: lp.cfg.Pos, Msg: fmt.Sprintf("listener %q: %v", lp.cfg.Name, err),
				Hint: "is another process using the address?"}
		}
		fresh = append(fresh, b)
	}
	return fresh, nil
}

// l4Tables builds every L4 route table of p (tcp, tls and udp listeners
// and https passthrough) over the current upstream pools.
func (g *Gateway) l4Tables(p *plan) map[string]*l4.Table {
	backends := map[string]*l4.Backend{}
	backend := func(name string) *l4.Backend {
		if b, ok := backends[name]; ok {
			return b
		}
		cur := g.upstreams[name]
		b := translate.L4Backend(p.upstreams[name].cfg, cur.pool, cur.health.report)
		backends[name] = b
		return b
	}
	tables := map[string]*l4.Table{}
	for _, lp := range p.l4 {
		tables[lp.cfg.Name] = translate.L4Table(lp.routes, lp.cfg.Timeouts.Idle, backend)
	}
	for _, lp := range p.listeners {
		if len(lp.passthrough) > 0 {
			tables[lp.cfg.Name] = translate.L4Table(lp.passthrough, 0, backend)
		}
	}
	return tables
}

// applyL4 starts the servers of fresh L4 listeners, gives running ones
// their new route tables, and stops the ones the configuration dropped.
func (g *Gateway) applyL4(p *plan, fresh l4BoundSet, tables map[string]*l4.Table, cfg *config.Config) {
	var log *observe.AccessLog
	if cfg.AccessLog.Enabled {
		log = g.accessLog
	}
	for _, lp := range p.l4 {
		if lp.certs != nil {
			g.certPointer(lp.cfg.Name).Store(lp.certs)
		}
	}
	planned := map[string]bool{}
	for _, lp := range p.l4 {
		planned[lp.cfg.Name] = true
	}
	started := map[string]bool{}
	for _, b := range fresh {
		name := b.lp.cfg.Name
		if old, ok := g.l4.running[name]; ok {
			g.stopL4(old, b.new)
		}
		g.l4.running[name] = g.startL4(b, tables[name], log)
		started[name] = true
	}
	for name, r := range g.l4.running {
		switch {
		case started[name]:
		case !planned[name]: // dropped, or now an http(s) listener
			delete(g.l4.running, name)
			g.stopL4(r, true)
		case r.tcp != nil:
			r.tcp.SetRoutes(tables[name])
		case r.udp != nil:
			r.udp.SetRoutes(tables[name])
		}
	}
	for name, m := range g.l4.mixers {
		if t := tables[name]; t != nil {
			m.SetRoutes(t)
		}
	}
}

// startL4 starts a server for one bound L4 listener.
func (g *Gateway) startL4(b l4Bound, routes *l4.Table, log *observe.AccessLog) *l4Running {
	lc := b.lp.cfg
	r := &l4Running{key: b.lp.key, sock: b.sock, pc: b.pc}
	if lc.Protocol == "udp" {
		r.udp = udpproxy.New(udpproxy.Config{
			Listener: lc.Name, MaxSessions: lc.MaxConnections, DefaultIdleTimeout: lc.Timeouts.Idle,
			Tracker: g.l4.tracker, Metrics: g.metrics.L4(), AccessLog: log, Log: g.log,
		}, routes)
		go r.udp.Serve(b.pc)
		g.log.Info("listening", "listener", lc.Name, "address", b.pc.LocalAddr().String(), "protocol", "udp")
		return r
	}
	cfg := tcpproxy.Config{
		Listener: lc.Name, Mode: tcpproxy.Plain, Accept: translate.ProxyAccept(lc.ProxyProtocol),
		MaxConns: lc.MaxConnections, DefaultIdleTimeout: lc.Timeouts.Idle,
		Tracker: g.l4.tracker, Metrics: g.metrics.L4(), AccessLog: log, Log: g.log,
	}
	if lc.Protocol == "tls" {
		cfg.Mode, cfg.TLS = tcpproxy.Terminate, g.l4TLSConfig(lc.Name, b.lp.key.tls, routeALPN(b.lp.routes))
	}
	r.tcp = tcpproxy.New(cfg, routes)
	go r.tcp.Serve(b.sock.Listener())
	g.log.Info("listening", "listener", lc.Name, "address", b.sock.Addr().String(), "protocol", lc.Protocol)
	return r
}

// l4TLSConfig is the server TLS of a tls listener: certificates by SNI
// from the listener's (reloadable) set, mTLS as configured.
func (g *Gateway) l4TLSConfig(name string, s listener.Settings, alpn []string) *tls.Config {
	certs := g.certPointer(name)
	return s.ServerTLS(func(h *tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.Load().Get(h) }, alpn)
}

// stopL4 stops a replaced or dropped L4 listener: it accepts no more,
// and its open connections finish on their own (the tracker closes them
// on shutdown or when their target is drained). closeSocket is false
// when the new server took the socket over.
func (g *Gateway) stopL4(r *l4Running, closeSocket bool) {
	if r.tcp != nil {
		g.stopTCPFront(r.tcp)
	}
	if r.udp != nil {
		r.udp.Close()
	}
	if !closeSocket {
		return
	}
	if r.sock != nil {
		r.sock.Close()
	}
	if r.pc != nil {
		r.pc.Close()
	}
}

// passthroughFront returns the listener an HTTP server reads: the
// socket's own, or for an https listener with L4 routes a passthrough
// front that forwards matching TLS connections by SNI and hands the rest
// over. A replaced front stops accepting; its connections carry on.
func (g *Gateway) passthroughFront(b bound, table *l4.Table, cfg *config.Config) net.Listener {
	name := b.lp.cfg.Name
	g.stopMixer(name)
	if len(b.lp.passthrough) == 0 {
		return b.sock.Listener()
	}
	var log *observe.AccessLog
	if cfg.AccessLog.Enabled {
		log = g.accessLog
	}
	m := tcpproxy.New(tcpproxy.Config{
		Listener: name, Mode: tcpproxy.Mixed, Accept: translate.ProxyAccept(b.lp.cfg.ProxyProtocol),
		Tracker: g.l4.tracker, Metrics: g.metrics.L4(), AccessLog: log, Log: g.log,
	}, table)
	go m.Serve(b.sock.Listener())
	g.l4.mixers[name], g.l4.mixKeys[name] = m, b.lp.mixKey
	return m.HTTPListener()
}

// stopMixer stops the passthrough front of an https listener, if any.
func (g *Gateway) stopMixer(name string) {
	if m := g.l4.mixers[name]; m != nil {
		g.stopTCPFront(m)
		delete(g.l4.mixers, name)
		delete(g.l4.mixKeys, name)
	}
}

// certPointer is the reloadable certificate set of a TLS listener.
func (g *Gateway) certPointer(name string) *atomic.Pointer[listener.Certificates] {
	p, ok := g.certs[name]
	if !ok {
		p = &atomic.Pointer[listener.Certificates]{}
		g.certs[name] = p
	}
	return p
}

// shutdownL4 stops every L4 listener and passthrough front, then lets
// open connections finish within grace and closes the rest.
func (g *Gateway) shutdownL4(grace time.Duration) {
	g.mu.Lock()
	running, mixers := g.l4.running, g.l4.mixers
	g.l4.running, g.l4.mixers, g.l4.mixKeys = map[string]*l4Running{}, map[string]*tcpproxy.Server{}, map[string]string{}
	g.mu.Unlock()
	for _, r := range running {
		g.stopL4(r, true)
	}
	for _, m := range mixers {
		g.stopTCPFront(m)
	}
	if n := g.l4.tracker.Shutdown(grace); n > 0 {
		g.log.Info("closed L4 connections still open after the grace period", "connections", n)
	}
}

// stopTCPFront stops a tcpproxy server from accepting; the connections it
// is still routing get the handshake and peek bounds to finish, and the
// forwarded ones are the tracker's.
func (g *Gateway) stopTCPFront(s *tcpproxy.Server) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), tcpproxy.DefaultHandshakeTimeout)
		defer cancel()
		s.Shutdown(ctx)
	}()
}
