package gateway

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/action"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/filter"
	"github.com/gatehouse/gatehouse/internal/proxy"
)

// routeHandler builds what runs inside a route's policies: its filters,
// in configuration order, around its action.
func (g *Gateway) routeHandler(rc *config.Route) http.Handler {
	h := g.routeAction(rc)
	prefixes := routePrefixes(rc)
	for i := len(rc.Filters) - 1; i >= 0; i-- {
		h = routeFilter(rc.Filters[i], prefixes)(h)
	}
	return h
}

// routeAction is the route's action: respond, redirect or proxy.
func (g *Gateway) routeAction(rc *config.Route) http.Handler {
	switch {
	case rc.Respond != nil:
		return action.NewRespond(action.RespondConfig{Status: rc.Respond.Status, Headers: rc.Respond.Headers, Body: rc.Respond.Body})
	case rc.Redirect != nil:
		rd := rc.Redirect
		return action.NewRedirect(action.RedirectConfig{Scheme: rd.Scheme, Host: rd.Host, Path: rd.Path, Port: rd.Port, Status: rd.Status})
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
	}
	if rt := rc.Retry; rt != nil {
		o.Retry = &proxy.RetryPolicy{
			Attempts: rt.Attempts, On: rt.On, RetryNonIdempotent: rt.RetryNonIdempotent,
			PerTryTimeout: rt.PerTryTimeout, BackoffBase: rt.BackoffBase, BackoffMax: rt.BackoffMax,
			BufferBytes: rt.BufferBytes, Budget: u.budget,
		}
	}
	return proxy.New(o)
}

// routeFilter compiles one filter of a route.
func routeFilter(f *config.Filter, prefixes []string) layer {
	switch {
	case f.RequestHeaders != nil:
		return filter.RequestHeaders(headersConfig(f.RequestHeaders))
	case f.ResponseHeaders != nil:
		return filter.ResponseHeaders(headersConfig(f.ResponseHeaders))
	case f.URLRewrite != nil:
		c := filter.URLRewriteConfig{Hostname: f.URLRewrite.Hostname, Prefixes: prefixes}
		if p := f.URLRewrite.Path; p != nil {
			c.PathEdit, c.FullPath, c.PrefixTo = true, p.ReplaceFullPath, p.ReplacePrefixMatch
		}
		return filter.URLRewrite(c)
	}
	return func(h http.Handler) http.Handler { return h }
}

func headersConfig(c *config.HeaderFilter) filter.HeadersConfig {
	return filter.HeadersConfig{Set: c.Set, Add: c.Add, Remove: c.Remove}
}

// routePrefixes are the route's prefix matches, which a URL rewrite's
// ReplacePrefixMatch replaces; a route without matches matches every path.
func routePrefixes(rc *config.Route) []string {
	matches := rc.Matches
	if rc.Match != nil {
		matches = []*config.Match{rc.Match}
	}
	if len(matches) == 0 {
		return []string{"/"}
	}
	var prefixes []string
	for _, m := range matches {
		if m.Path != nil && m.Path.Prefix != "" {
			prefixes = append(prefixes, m.Path.Prefix)
		}
	}
	return prefixes
}
