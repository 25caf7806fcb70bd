package gateway

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// routeHandler builds what runs inside a route's policies: its filters,
// in configuration order, around its action.
func (g *Gateway) routeHandler(rc *config.Route) http.Handler {
	h := g.routeAction(rc)
	return translate.Filters(rc)(h)
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
	u := g.upstreams[rc.Backend.Upstream]
	name := u.pool.Name
	o := proxy.Options{
		Route:     rc.Name,
		Pool:      u.pool,
		Transport: u.transport,
		Timeout:   rc.Timeout,
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
	if rt := rc.Retry; rt != nil {
		o.Retry = translate.Retry(rt, u.budget)
	}
	return proxy.New(o)
}
