package translate

import (
	"fmt"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/policy/cache"
	"github.com/gatehouse/gatehouse/internal/policy/plans"
	"github.com/gatehouse/gatehouse/internal/policy/quota"
	"github.com/gatehouse/gatehouse/internal/policy/ratelimit"
	"github.com/gatehouse/gatehouse/internal/store"
)

// The traffic policies' builders (see policyOrder): rate limit,
// concurrency limit, quota and cache.

// rateRules translates rate-limit rules.
func rateRules(rrs []*config.RateRule) ([]ratelimit.Rule, error) {
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

func buildRateLimit(b *routeBuild) (layer, error) {
	rl := b.p.RateLimit
	if rl == nil {
		return nil, nil
	}
	r := b.r
	decisions := b.env.Metrics.Limits(r.Name) // metric children resolved here, not per request
	storeErrs := b.env.Metrics.StoreErrors(r.Name, "rate_limit")
	build := func(scope string, rrs []*config.RateRule) (*ratelimit.Limiter, error) {
		rs, err := rateRules(rrs)
		if err != nil {
			return nil, err
		}
		c := ratelimit.Config{Route: scope, Rules: rs, Local: b.env.Local, Timeout: rl.Timeout,
			FailMode: ratelimit.FailMode(rl.Fail), Instances: b.env.Config.Instances(), Headers: rl.Headers, Logger: b.env.Log.With("route", r.Name),
			OnDecision: decisions.Decision,
			OnError:    func(error) { storeErrs.Inc() },
		}
		if b.env.Shared != nil && !rl.Local {
			c.Store = b.env.Shared
		}
		return ratelimit.New(c)
	}
	routeRules := rl.Limits
	if rl.RateRule.Limit != 0 {
		routeRules = append([]*config.RateRule{&rl.RateRule}, routeRules...)
	}
	var def plans.Wrapper
	if len(routeRules) > 0 {
		l, err := build(r.Name, routeRules)
		if err != nil {
			return nil, policyErr(rl.Pos, "rate_limit", err)
		}
		def = l
	}
	if !rl.UsePlan {
		return plans.Select(def, nil), nil
	}
	byPlan, err := perPlan(b.env.Config.Plans, "rate_limits", func(pl *config.Plan) (plans.Wrapper, error) {
		if len(pl.RateLimits) == 0 {
			return nil, nil
		}
		return build(plans.Scope(pl.Name), pl.RateLimits)
	})
	if err != nil {
		return nil, err
	}
	return plans.Select(def, byPlan), nil
}

// perPlan builds a plan-aware policy for every plan build returns one for
// (a nil policy: the plan has none of this kind); section names the
// plan's section in errors.
func perPlan(ps []*config.Plan, section string, build func(*config.Plan) (plans.Wrapper, error)) (map[string]plans.Wrapper, error) {
	byPlan := map[string]plans.Wrapper{}
	for _, pl := range ps {
		w, err := build(pl)
		if err != nil {
			return nil, fmt.Errorf("plan %q: %s: %w", pl.Name, section, err)
		}
		if w != nil {
			byPlan[pl.Name] = w
		}
	}
	return byPlan, nil
}

func buildConcurrencyLimit(b *routeBuild) (layer, error) {
	cl := b.p.ConcurrencyLimit
	if cl == nil {
		return nil, nil
	}
	key, err := ratelimit.ParseKey(cl.Key)
	if err != nil {
		return nil, policyErr(cl.Pos, "concurrency_limit", err)
	}
	decisions := b.env.Metrics.Limits(b.r.Name)
	c, err := ratelimit.NewConcurrency(ratelimit.ConcurrencyConfig{Route: b.r.Name, Max: cl.Max, Key: key,
		OnDecision: func(allowed bool) { decisions.Decision("concurrency", allowed) }})
	if err != nil {
		return nil, policyErr(cl.Pos, "concurrency_limit", err)
	}
	return c.Wrap, nil
}

func buildQuota(b *routeBuild) (layer, error) {
	q := b.p.Quota
	if q == nil {
		return nil, nil
	}
	r := b.r
	st := b.env.Local
	if b.env.Shared != nil {
		st = b.env.Shared
	}
	decisions := b.env.Metrics.Limits(r.Name)
	storeErrs := b.env.Metrics.StoreErrors(r.Name, "quota")
	build := func(scope string, rule *config.QuotaRule) (*quota.Quota, error) {
		key, err := ratelimit.ParseKey(rule.Key)
		if err != nil {
			return nil, err
		}
		return quota.New(quota.Config{Route: r.Name, Limit: rule.Limit, Period: quota.Period(rule.Period), Window: rule.Window,
			Store: st, Timeout: q.Timeout, FailMode: ratelimit.FailMode(q.Fail), Key: key, Scope: scope,
			Logger:     b.env.Log.With("route", r.Name),
			OnDecision: func(allowed bool) { decisions.Decision("quota", allowed) },
			OnError:    func(error) { storeErrs.Inc() }})
	}
	var def plans.Wrapper
	if q.QuotaRule.Limit != 0 {
		qq, err := build("route-"+r.Name, &q.QuotaRule)
		if err != nil {
			return nil, policyErr(q.Pos, "quota", err)
		}
		def = qq
	}
	if !q.UsePlan {
		return plans.Select(def, nil), nil
	}
	byPlan, err := perPlan(b.env.Config.Plans, "quota", func(pl *config.Plan) (plans.Wrapper, error) {
		if pl.Quota == nil {
			return nil, nil
		}
		return build(plans.Scope(pl.Name), pl.Quota)
	})
	if err != nil {
		return nil, err
	}
	return plans.Select(def, byPlan), nil
}

func buildCache(b *routeBuild) (layer, error) {
	ch := b.p.Cache
	if ch == nil {
		return nil, nil
	}
	r := b.r
	backend := b.env.CacheMemory()
	if b.env.Shared != nil && !ch.Local {
		backend = b.env.Shared
	}
	c, err := cache.New(cache.Config{Backend: backend, Namespace: "cache:" + r.Name + ":", TTL: ch.TTL, OverrideTTL: ch.OverrideTTL,
		StaleWhileRevalidate: ch.StaleWhileRevalidate, StaleIfError: ch.StaleIfError, Methods: ch.Methods, Statuses: ch.Statuses,
		KeyHeaders: ch.KeyHeaders, KeyConsumer: ch.KeyConsumer, CacheAuthenticated: ch.CacheAuthenticated,
		MaxBodyBytes: ch.MaxBodyBytes, Logger: b.env.Log.With("route", r.Name),
		CacheControlField: ch.CacheControlField, KeepForRevalidation: ch.KeepForRevalidation,
		HeuristicPercent: ch.HeuristicPercent, HeuristicMax: ch.HeuristicMax, ExplicitStatuses: ch.ExplicitStatuses,
		StoreAuthorized: ch.StoreAuthorized, VaryFoldCase: ch.VaryFoldCase})
	if err != nil {
		return nil, policyErr(ch.Pos, "cache", err)
	}
	b.env.OnCache(r.Name, c)
	counters := b.env.Metrics.CacheResults(r.Name, cache.Hit, cache.Miss, cache.Stale, cache.Revalidated, cache.Bypass)
	return func(next http.Handler) http.Handler {
		h := c.Wrap(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h.ServeHTTP(w, r)
			if v := w.Header()["X-Cache"]; len(v) == 1 {
				if ctr := counters[v[0]]; ctr != nil {
					ctr.Inc()
				}
			}
		})
	}, nil
}
