package gateway

import (
	"context"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/policy/cache"
	"github.com/gatehouse/gatehouse/internal/policy/jwtauth"
	"github.com/gatehouse/gatehouse/internal/store"
	"github.com/redis/go-redis/v9"
)

// policySet is the policies of one snapshot, built before it takes effect.
type policySet struct {
	consumers identity.Consumers
	// wrap holds, by route name, the function that puts the route's
	// policies around its filters and action.
	wrap map[string]func(http.Handler) http.Handler
	// jwt are the providers this snapshot uses, by fingerprint; those not
	// yet running are started when it takes effect.
	jwt map[string]*jwtauth.Provider
	// store and redis are the key store and Redis client to use (possibly
	// the running ones), opened from stateID.
	stateID string
	store   keystore.Store
	redis   redis.UniversalClient
	// shared is the Redis traffic store (nil without Redis); local the
	// process's in-memory one.
	shared store.Store
	local  store.Store
	// caches are the routes' response caches, for the admin API's purge.
	caches map[string]*cache.Cache
	// validating: built by `gatehouse validate`; local is throwaway.
	validating bool
}

// buildPolicies compiles every route's policies. With open false (for
// `gatehouse validate`) it opens no store and contacts nothing.
func (g *Gateway) buildPolicies(cfg *config.Config, open bool) (*policySet, error) {
	ps := &policySet{consumers: identity.Consumers{}, wrap: map[string]func(http.Handler) http.Handler{},
		jwt: map[string]*jwtauth.Provider{}, caches: map[string]*cache.Cache{}, validating: !open}
	for _, c := range cfg.Consumers {
		ps.consumers[c.Name] = &identity.Consumer{Name: c.Name, Groups: c.Groups, Metadata: c.Metadata, Plan: c.Plan}
	}
	if open {
		if err := g.openShared(cfg, ps); err != nil {
			return nil, err
		}
	}
	if needsTraffic(cfg) {
		local, err := g.openLocal(cfg, open)
		if err != nil {
			ps.discard(g)
			return nil, err
		}
		ps.local = local
	}
	env := g.translateEnv(cfg, ps)
	var errs config.Errors
	for _, r := range cfg.Routes {
		wrap, err := translate.Policies(env, r)
		if err != nil {
			errs = append(errs, posErr(translate.ErrorPos(err, r.Policies.Pos), "route %q: %v", r.Name, err))
			continue
		}
		if wrap != nil {
			ps.wrap[r.Name] = wrap
		}
	}
	if len(errs) > 0 {
		ps.discard(g)
		return nil, errs
	}
	return ps, nil
}

// translateEnv is what translating cfg's policies may use: the
// snapshot's stores and consumers, JWT providers shared with the running
// snapshot, the process's metrics and in-memory cache.
func (g *Gateway) translateEnv(cfg *config.Config, ps *policySet) *translate.Env {
	return &translate.Env{
		Config: cfg, Log: g.log, Metrics: g.metrics, Consumers: ps.consumers,
		Keys: ps.store, Shared: ps.shared, Local: ps.local,
		JWT:         func(name string, j *config.JWTIssuer) (*jwtauth.Provider, error) { return g.jwtProvider(name, j, ps) },
		CacheMemory: func() cache.Backend { return g.cacheMemory(cfg) },
		OnCache:     func(route string, c *cache.Cache) { ps.caches[route] = c },
	}
}

// commit makes ps the running policy state: starts new JWT providers,
// closes those and any store no longer used. Caller holds g.mu.
func (ps *policySet) commit(g *Gateway) {
	for fp, p := range ps.jwt {
		if _, running := g.sec.jwt[fp]; !running {
			p.Start(context.Background())
		}
	}
	for fp, p := range g.sec.jwt {
		if _, kept := ps.jwt[fp]; !kept {
			p.Close()
		}
	}
	g.sec.jwt = ps.jwt
	if g.sec.store != nil && g.sec.store != ps.store {
		g.sec.store.Close()
	}
	if g.sec.redis != nil && g.sec.redis != ps.redis {
		old := g.sec.redis
		// Requests of the old snapshot may still use it.
		time.AfterFunc(g.cfg.Shutdown.GracePeriod, func() { old.Close() })
	}
	g.sec.store, g.sec.redis, g.sec.stateID = ps.store, ps.redis, ps.stateID
	pub := &published{consumers: ps.consumers, keys: ps.store, adminToken: adminToken(g.cfg), caches: ps.caches,
		plans: map[string]*config.QuotaRule{}}
	pub.traffic = ps.local
	if ps.shared != nil {
		pub.traffic = ps.shared
	}
	for _, pl := range g.cfg.Plans {
		if pl.Quota != nil {
			pub.plans[pl.Name] = pl.Quota
		}
	}
	g.published.Store(pub)
}

// discard releases what buildPolicies opened for a snapshot that will
// not take effect.
func (ps *policySet) discard(g *Gateway) {
	for fp, p := range ps.jwt {
		if _, running := g.sec.jwt[fp]; !running {
			p.Close()
		}
	}
	if ps.store != nil && ps.store != g.sec.store {
		ps.store.Close()
	}
	if ps.redis != nil && ps.redis != g.sec.redis {
		ps.redis.Close()
	}
	if ps.validating && ps.local != nil {
		ps.local.Close()
	}
}
