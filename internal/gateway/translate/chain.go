package translate

import (
	"log/slog"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/observe"
	"github.com/gatehouse/gatehouse/internal/policy/cache"
	"github.com/gatehouse/gatehouse/internal/policy/jwtauth"
	"github.com/gatehouse/gatehouse/internal/store"
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

// Env is what translating a route's policies may use beyond the route:
// the whole configuration (consumers, plans, JWT providers) and the
// snapshot's shared state, which the gateway owns.
type Env struct {
	Config    *config.Config
	Log       *slog.Logger
	Metrics   *observe.Metrics
	Consumers identity.Consumers
	Keys      keystore.Store // run-time API keys (nil: none)
	Shared    store.Store    // the Redis traffic store (nil without Redis)
	Local     store.Store    // the process's in-memory traffic store
	// JWT returns the provider for an issuer configuration, shared with
	// the running snapshot when unchanged (JWKS caches survive reloads).
	JWT func(name string, j *config.JWTIssuer) (*jwtauth.Provider, error)
	// CacheMemory is the process-wide in-memory response cache backend.
	CacheMemory func() cache.Backend
	// OnCache is told of every route's response cache (admin purges).
	OnCache func(route string, c *cache.Cache)
}

// provider is the configuration's named JWT provider (validated to exist).
func (e *Env) provider(name string) *config.JWTProvider {
	for _, p := range e.Config.JWTProviders {
		if p.Name == name {
			return p
		}
	}
	return &config.JWTProvider{}
}

// routeBuild is what a policy builder reads: the route and the Env.
type routeBuild struct {
	env *Env
	r   *config.Route
	p   *config.Policies
}

// Policies builds one route's policy chain in policyOrder (nil when the
// route has no policies). An error names the policy's line (ErrorPos).
func Policies(env *Env, r *config.Route) (func(http.Handler) http.Handler, error) {
	if r.Policies == nil {
		return nil, nil
	}
	b := &routeBuild{env: env, r: r, p: r.Policies}
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
