package gateway

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/config"
)

// layer wraps a handler in one step of a route's chain.
type layer = func(http.Handler) http.Handler

// policyBuilder turns one section of a route's policies into one layer.
// It returns a nil layer when the route does not use that section.
type policyBuilder struct {
	name  string
	build func(b *routeBuild) (layer, error)
}

// policyOrder is the order every route's policies run in, outermost
// first. It is the one place that states it; adding a policy means one
// builder and one line here.
//
// Why this order: the IP filter and request limits refuse before any
// work is done; CORS answers browsers' preflights, which carry no
// credentials, before authentication; the WAF inspects what
// authentication will read; authentication and authorization decide who
// the caller is, which the rate limit, quota and cache keys may use; the
// limits come before the cache, so a refused request costs no cache work
// and a cache hit still counts against them. The route's filters and
// action run inside the last layer.
var policyOrder = []policyBuilder{
	{"ip_filter", buildIPFilter},
	{"request_limits", buildRequestLimits},
	{"cors", buildCORS},
	{"waf", buildWAF},
	{"authentication", buildAuthentication},
	{"rate_limit", buildRateLimit},
	{"concurrency_limit", buildConcurrencyLimit},
	{"quota", buildQuota},
	{"cache", buildCache},
}

// routeBuild is what a policy builder may read: the route, the whole
// configuration (consumers, plans, JWT providers) and the snapshot's
// shared state.
type routeBuild struct {
	g   *Gateway
	cfg *config.Config
	r   *config.Route
	p   *config.Policies
	ps  *policySet
}

// routePolicies builds one route's policy chain in policyOrder.
func (g *Gateway) routePolicies(cfg *config.Config, r *config.Route, ps *policySet) (layer, error) {
	b := &routeBuild{g: g, cfg: cfg, r: r, p: r.Policies, ps: ps}
	var layers []layer
	for _, pb := range policyOrder {
		l, err := pb.build(b)
		if err != nil {
			return nil, err
		}
		if l != nil {
			layers = append(layers, l)
		}
	}
	return func(h http.Handler) http.Handler {
		for i := len(layers) - 1; i >= 0; i-- {
			h = layers[i](h)
		}
		return h
	}, nil
}
