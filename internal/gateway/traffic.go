package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/cache"
	"github.com/gatehouse/gatehouse/internal/policy/quota"
	"github.com/gatehouse/gatehouse/internal/policy/ratelimit"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/store"
)

// needsTraffic reports whether cfg has rate limits, quotas or caches.
func needsTraffic(cfg *config.Config) bool {
	for _, r := range cfg.Routes {
		if p := r.Policies; p != nil && (p.RateLimit != nil || p.Quota != nil || p.Cache != nil) {
			return true
		}
	}
	return false
}

// openLocal opens the process's in-memory store once: its quota counters
// persist to data_dir/quota.db, so it lives as long as the process (a
// data_dir change takes effect on restart).
func (g *Gateway) openLocal(cfg *config.Config, open bool) (store.Store, error) {
	if !open {
		return store.NewMemory(store.MemoryOptions{}) // validate: nothing on disk
	}
	if g.sec.local != nil {
		return g.sec.local, nil
	}
	err := os.MkdirAll(cfg.DataDir, 0o700)
	var m *store.Memory
	if err == nil {
		m, err = store.NewMemory(store.MemoryOptions{PersistPath: filepath.Join(cfg.DataDir, "quota.db")})
	}
	if err != nil {
		return nil, dataDirErr(cfg, err)
	}
	g.sec.local = m
	return m, nil
}

// cacheMemory is the process's in-memory response cache backend, shared
// by every route's cache (each has its own namespace) and kept across
// reloads: an otter cache bounded by store.cache_max_bytes, fixed at first use.
func (g *Gateway) cacheMemory(cfg *config.Config) cache.Backend {
	g.cacheOnce.Do(func() { g.cacheMem = cache.NewMemoryBackend(cfg.CacheMaxBytes()) })
	return g.cacheMem
}

// trafficLayers builds the route's rate limit, concurrency limit, quota
// and cache, in that order: a refused request costs no cache work, and a
// cache hit still counts against the limits.
func (g *Gateway) trafficLayers(cfg *config.Config, r *config.Route, ps *policySet) ([]func(http.Handler) http.Handler, error) {
	p := r.Policies
	var layers []func(http.Handler) http.Handler
	instances := cfg.Instances()
	// Metric children resolved here, not per request.
	decisions := g.metrics.Limits(r.Name)
	if rl := p.RateLimit; rl != nil {
		storeErrs := g.metrics.StoreErrors(r.Name, "rate_limit")
		rules := func(rrs []*config.RateRule) ([]ratelimit.Rule, error) {
			var out []ratelimit.Rule
			for _, rr := range rrs {
				key, err := ratelimit.ParseKey(rr.Key)
				if err != nil {
					return nil, err
				}
				l := store.Limit{Rate: rr.Limit, Period: rr.Window, Burst: rr.Burst}
				if rr.Algorithm == "gcra" {
					l.Algorithm = store.GCRA
				}
				out = append(out, ratelimit.Rule{Name: rr.Name, Limit: l, Key: key, Cost: rr.Cost})
			}
			return out, nil
		}
		routeRules := rl.Limits
		if rl.RateRule.Limit != 0 {
			routeRules = append([]*config.RateRule{&rl.RateRule}, routeRules...)
		}
		build := func(scope string, rrs []*config.RateRule) (*ratelimit.Limiter, error) {
			rs, err := rules(rrs)
			if err != nil {
				return nil, err
			}
			c := ratelimit.Config{Route: scope, Rules: rs, Local: ps.local, Timeout: rl.Timeout,
				FailMode: ratelimit.FailMode(rl.Fail), Instances: instances, Headers: rl.Headers, Logger: g.log.With("route", r.Name),
				OnDecision: decisions.Decision,
				OnError:    func(error) { storeErrs.Inc() },
			}
			if ps.shared != nil && !rl.Local {
				c.Store = ps.shared
			}
			return ratelimit.New(c)
		}
		var def wrapper
		if len(routeRules) > 0 {
			l, err := build(r.Name, routeRules)
			if err != nil {
				return nil, policyErr(rl.Pos, "rate_limit", err)
			}
			def = l
		}
		byPlan := map[string]wrapper{}
		if rl.UsePlan {
			for _, pl := range cfg.Plans {
				if len(pl.RateLimits) == 0 {
					continue
				}
				l, err := build(planScope(pl.Name), pl.RateLimits)
				if err != nil {
					return nil, fmt.Errorf("plan %q: rate_limits: %w", pl.Name, err)
				}
				byPlan[pl.Name] = l
			}
		}
		layers = append(layers, planLayer(def, byPlan))
	}
	if cl := p.ConcurrencyLimit; cl != nil {
		key, err := ratelimit.ParseKey(cl.Key)
		if err != nil {
			return nil, policyErr(cl.Pos, "concurrency_limit", err)
		}
		c, err := ratelimit.NewConcurrency(ratelimit.ConcurrencyConfig{Route: r.Name, Max: cl.Max, Key: key,
			OnDecision: func(allowed bool) { decisions.Decision("concurrency", allowed) }})
		if err != nil {
			return nil, policyErr(cl.Pos, "concurrency_limit", err)
		}
		layers = append(layers, c.Wrap)
	}
	if q := p.Quota; q != nil {
		st := ps.local
		if ps.shared != nil {
			st = ps.shared
		}
		storeErrs := g.metrics.StoreErrors(r.Name, "quota")
		build := func(scope string, rule *config.QuotaRule) (*quota.Quota, error) {
			key, err := ratelimit.ParseKey(rule.Key)
			if err != nil {
				return nil, err
			}
			return quota.New(quota.Config{Route: r.Name, Limit: rule.Limit, Period: quota.Period(rule.Period), Window: rule.Window,
				Store: st, Timeout: q.Timeout, FailMode: ratelimit.FailMode(q.Fail), Key: key, Scope: scope,
				Logger:     g.log.With("route", r.Name),
				OnDecision: func(allowed bool) { decisions.Decision("quota", allowed) },
				OnError:    func(error) { storeErrs.Inc() }})
		}
		var def wrapper
		if q.QuotaRule.Limit != 0 {
			qq, err := build("route-"+r.Name, &q.QuotaRule)
			if err != nil {
				return nil, policyErr(q.Pos, "quota", err)
			}
			def = qq
		}
		byPlan := map[string]wrapper{}
		if q.UsePlan {
			for _, pl := range cfg.Plans {
				if pl.Quota == nil {
					continue
				}
				qq, err := build(planScope(pl.Name), pl.Quota)
				if err != nil {
					return nil, fmt.Errorf("plan %q: quota: %w", pl.Name, err)
				}
				byPlan[pl.Name] = qq
			}
		}
		layers = append(layers, planLayer(def, byPlan))
	}
	if ch := p.Cache; ch != nil {
		backend := g.cacheMemory(cfg)
		if ps.shared != nil && !ch.Local {
			backend = ps.shared
		}
		c, err := cache.New(cache.Config{Backend: backend, Namespace: "cache:" + r.Name + ":", TTL: ch.TTL, OverrideTTL: ch.OverrideTTL,
			StaleWhileRevalidate: ch.StaleWhileRevalidate, StaleIfError: ch.StaleIfError, Methods: ch.Methods, Statuses: ch.Statuses,
			KeyHeaders: ch.KeyHeaders, KeyConsumer: ch.KeyConsumer, CacheAuthenticated: ch.CacheAuthenticated,
			MaxBodyBytes: ch.MaxBodyBytes, Timeout: 50 * time.Millisecond, Logger: g.log.With("route", r.Name),
			CacheControlField: ch.CacheControlField, KeepForRevalidation: ch.KeepForRevalidation,
			HeuristicPercent: ch.HeuristicPercent, HeuristicMax: ch.HeuristicMax, ExplicitStatuses: ch.ExplicitStatuses,
			StoreAuthorized: ch.StoreAuthorized, VaryFoldCase: ch.VaryFoldCase})
		if err != nil {
			return nil, policyErr(ch.Pos, "cache", err)
		}
		ps.caches[r.Name] = c
		counters := g.metrics.CacheResults(r.Name, cache.Hit, cache.Miss, cache.Stale, cache.Revalidated, cache.Bypass)
		layers = append(layers, func(next http.Handler) http.Handler {
			h := c.Wrap(next)
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				h.ServeHTTP(w, r)
				if v := w.Header()["X-Cache"]; len(v) == 1 {
					if ctr := counters[v[0]]; ctr != nil {
						ctr.Inc()
					}
				}
			})
		})
	}
	return layers, nil
}

// planScope names the counters a plan's limits and quota share across
// every route that uses the plan.
func planScope(plan string) string { return "plan-" + plan }

// wrapper is a policy that wraps a handler (a Limiter, a Quota).
type wrapper interface {
	Wrap(http.Handler) http.Handler
}

// planLayer applies the policy of the consumer's plan when byPlan has
// one, else def (nil: none) — for anonymous requests and consumers
// without a plan too.
func planLayer(def wrapper, byPlan map[string]wrapper) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		defH := next
		if def != nil {
			defH = def.Wrap(next)
		}
		if len(byPlan) == 0 {
			return defH
		}
		planH := make(map[string]http.Handler, len(byPlan))
		for name, w := range byPlan {
			planH[name] = w.Wrap(next)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if info := reqinfo.FromContext(r.Context()); info != nil && info.Identity != nil && info.Identity.Consumer != nil {
				if h, ok := planH[info.Identity.Consumer.Plan]; ok {
					h.ServeHTTP(w, r)
					return
				}
			}
			defH.ServeHTTP(w, r)
		})
	}
}

// trafficAPI serves the admin API's quota usage and cache purge.
func (g *Gateway) trafficAPI(get func() *published) *admin.TrafficAPI {
	// planQuota finds the consumer's plan quota and its counter key.
	planQuota := func(name string) (pub *published, plan string, rule *config.QuotaRule, key string, err error) {
		pub = get()
		c := pub.consumers.Get(name)
		if c == nil || c.Plan == "" || pub.plans[c.Plan] == nil || pub.traffic == nil {
			return nil, "", nil, "", admin.ErrNoQuota
		}
		rule = pub.plans[c.Plan]
		parts, err := ratelimit.ParseKey(rule.Key)
		if err != nil {
			return nil, "", nil, "", err
		}
		keyer, err := ratelimit.NewKeyer(parts)
		if err != nil {
			return nil, "", nil, "", err
		}
		// The key a request of this consumer would count under.
		info := &reqinfo.Info{Identity: &identity.Identity{Subject: c.Name, Consumer: c}}
		req := (&http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/"}, Header: http.Header{}}).
			WithContext(reqinfo.NewContext(context.Background(), info))
		return pub, c.Plan, rule, keyer.Key(req), nil
	}
	return &admin.TrafficAPI{
		Usage: func(ctx context.Context, name string) (admin.Usage, error) {
			pub, plan, rule, key, err := planQuota(name)
			if err != nil {
				return admin.Usage{}, err
			}
			used, reset, err := quota.Usage(ctx, pub.traffic, planScope(plan), key, quota.Period(rule.Period), rule.Window, time.Now())
			return admin.Usage{Consumer: name, Plan: plan, Limit: rule.Limit, Used: used, Period: rule.Period, ResetAt: reset}, err
		},
		ResetUsage: func(ctx context.Context, name string) error {
			pub, plan, rule, key, err := planQuota(name)
			if err != nil {
				return err
			}
			return quota.Reset(ctx, pub.traffic, planScope(plan), key, quota.Period(rule.Period), rule.Window, time.Now())
		},
		Purge: func(ctx context.Context, route, key, prefix string) (int, error) {
			caches := get().caches
			if route != "" {
				c := caches[route]
				if c == nil {
					return 0, admin.ErrUnknownRoute
				}
				caches = map[string]*cache.Cache{route: c}
			}
			total := 0
			for _, c := range caches {
				if key != "" {
					if err := c.Purge(ctx, key); err != nil {
						return total, err
					}
					total++
					continue
				}
				n, err := c.PurgePrefix(ctx, prefix)
				total += n
				if err != nil {
					return total, err
				}
			}
			return total, nil
		},
	}
}
