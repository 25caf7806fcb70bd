package gateway

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// routeHandler builds what runs inside a route's policies: its filters,
// in configuration order, around its action.
func (g *Gateway) routeHandler(rc *config.Route) http.Handler {
	h := g.routeAction(rc)
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

// routeAction is the route's action: respond, redirect or proxy.
func (g *Gateway) routeAction(rc *config.Route) http.Handler {
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
