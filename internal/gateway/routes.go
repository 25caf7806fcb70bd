package gateway

import (
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/entry"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/listener"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// routeHandler builds what runs inside a route's policies: its filters,
// in configuration order, around its action. listeners are the
// snapshot's HTTP listeners (where a composition dispatches).
func (g *Gateway) routeHandler(rc *config.Route, listeners []string) http.Handler {
	h := g.routeAction(rc, listeners)
	env := translate.FilterEnv{Metrics: g.metrics, Send: func(upstream string) http.Handler {
		// A mirror copy: no retry policy of the route, bounded by the
		// mirror's own timeout; its failed attempts are logged as the
		// mirror's.
		o := g.proxyOptions(rc.Name, upstream)
		o.Logger = g.log.With(slog.String("mirror", upstream))
		return proxy.New(o)
	}}
	return translate.Filters(rc, env)(h)
}

// routeAction is the route's action: respond, redirect, compose or proxy.
func (g *Gateway) routeAction(rc *config.Route, listeners []string) http.Handler {
	if rc.Compose != nil {
		return g.composeAction(rc, listeners)
	}
	if h := translate.Action(rc); h != nil {
		return h
	}
	return g.proxyAction(rc)
}

// proxyAction proxies to the route's upstream pool.
func (g *Gateway) proxyAction(rc *config.Route) http.Handler {
	o := g.proxyOptions(rc.Name, rc.Backend.Upstream)
	o.Timeout = rc.Timeout
	if rt := rc.Retry; rt != nil {
		o.Retry = translate.Retry(rt, g.upstreams[rc.Backend.Upstream].budget)
	}
	return proxy.New(o)
}

// proxyOptions proxies route's requests to upstream, with the upstream's
// shared state: transport, breaker, health and counters.
func (g *Gateway) proxyOptions(route, upstream string) proxy.Options {
	u := g.upstreams[upstream]
	name := u.pool.Name
	return proxy.Options{
		Route:     route,
		Pool:      u.pool,
		Transport: u.transport,
		Logger:    g.log,
		Breaker:   u.breaker,
		OnUpstreamError: func(target string) {
			g.metrics.UpstreamErrors(name, target).Inc()
		},
		OnAttempt:         u.health.report,
		OnRetry:           u.counters.Retries.Inc,
		OnBudgetExhausted: u.counters.BudgetExhausted.Inc,
		OnOverflow:        u.counters.Overflow.Inc,
		TargetHeaders:     u.headers,
	}
}

// composeAction builds a composing route. Upstream steps go through the
// upstream's proxy (like mirror copies: no retry policy of the route, each
// call bounded by the composition's context); route-relative steps are
// dispatched through the live entry of the route's first HTTP listener,
// which sees every later snapshot.
func (g *Gateway) composeAction(rc *config.Route, listeners []string) http.Handler {
	env := translate.ComposeEnv{Metrics: g.metrics, Send: func(upstream string) http.Handler {
		o := g.proxyOptions(rc.Name, upstream)
		o.Logger = g.log.With(slog.String("compose", rc.Name))
		return proxy.New(o)
	}}
	name := ""
	for _, l := range rc.Listeners {
		if slices.Contains(listeners, l) {
			name = l
			break
		}
	}
	if name == "" && len(rc.Listeners) == 0 && len(listeners) > 0 {
		name = listeners[0]
	}
	if name != "" {
		env.Dispatch = g.entryFor(name).Sub()
	}
	return translate.Compose(rc, env)
}

// entryFor returns listener name's entry, creating it (and its
// certificate slot) on first use. Caller holds g.mu.
func (g *Gateway) entryFor(name string) *entry.Entry {
	e, ok := g.entries[name]
	if !ok {
		e = entry.New(g.log)
		g.entries[name] = e
		g.certs[name] = &atomic.Pointer[listener.Certificates]{}
	}
	return e
}
