package gateway

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/internal/admin"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/policy/cache"
	"github.com/gatehouse/gatehouse/internal/policy/plans"
	"github.com/gatehouse/gatehouse/internal/policy/quota"
	"github.com/gatehouse/gatehouse/internal/policy/ratelimit"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/store"
)

// published is what the admin API reads from the running snapshot.
type published struct {
	consumers  identity.Consumers
	keys       keystore.Store
	adminToken string
	caches     map[string]*cache.Cache
	traffic    store.Store                  // where quota counters live
	plans      map[string]*config.QuotaRule // plans' quotas, by plan name
}

func adminToken(cfg *config.Config) string {
	if cfg == nil || cfg.Admin == nil {
		return ""
	}
	return cfg.Admin.Token
}

// adminAPI gives the admin listener the running consumers and key store.
func (g *Gateway) adminAPI() *admin.API {
	get := func() *published {
		if p := g.published.Load(); p != nil {
			return p
		}
		return &published{}
	}
	return &admin.API{
		Token:     func() string { return get().adminToken },
		Consumers: func() identity.Consumers { return get().consumers },
		Keys:      func() keystore.Store { return get().keys },
		Traffic:   g.trafficAPI(get),
	}
}

// trafficAPI serves the admin API's quota usage and cache purge.
func (g *Gateway) trafficAPI(get func() *published) *admin.TrafficAPI {
	// planQuota finds the consumer's plan quota and its counter key.
	planQuota := func(name string) (pub *published, planName string, rule *config.QuotaRule, key string, err error) {
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
			pub, planName, rule, key, err := planQuota(name)
			if err != nil {
				return admin.Usage{}, err
			}
			used, reset, err := quota.Usage(ctx, pub.traffic, plans.Scope(planName), key, quota.Period(rule.Period), rule.Window, time.Now())
			return admin.Usage{Consumer: name, Plan: planName, Limit: rule.Limit, Used: used, Period: rule.Period, ResetAt: reset}, err
		},
		ResetUsage: func(ctx context.Context, name string) error {
			pub, planName, rule, key, err := planQuota(name)
			if err != nil {
				return err
			}
			return quota.Reset(ctx, pub.traffic, plans.Scope(planName), key, quota.Period(rule.Period), rule.Window, time.Now())
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
