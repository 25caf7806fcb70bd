package config

import (
	"github.com/gatehouse/gatehouse/internal/policy/cache"
	"github.com/gatehouse/gatehouse/internal/policy/quota"
	"github.com/gatehouse/gatehouse/internal/policy/ratelimit"
)

const (
	defaultRateFail      = "local"
	defaultRateTimeout   = ratelimit.DefaultTimeout
	defaultQuotaFail     = "open"
	defaultQuotaTimeout  = quota.DefaultTimeout
	defaultCacheMaxBody  = cache.DefaultMaxBodyBytes
	defaultCacheMaxBytes = cache.DefaultMemoryBytes
)

// trafficDefaults fills rate limits, quotas, plans and caches.
func trafficDefaults(c *Config, given func(any) bool) {
	if c.Store != nil {
		if !given(&c.Store.Instances) {
			c.Store.Instances = 1
		}
		if !given(&c.Store.CacheMaxBytes) {
			c.Store.CacheMaxBytes = defaultCacheMaxBytes
		}
	}
	for _, p := range c.Plans {
		for _, r := range p.RateLimits {
			rateRuleDefaults(r, given)
		}
		if p.Quota != nil {
			quotaRuleDefaults(p.Quota)
		}
	}
	for _, r := range c.Routes {
		p := r.Policies
		if p == nil {
			continue
		}
		if rl := p.RateLimit; rl != nil {
			if rl.Fail == "" {
				rl.Fail = defaultRateFail
			}
			if !given(&rl.Timeout) {
				rl.Timeout = defaultRateTimeout
			}
			if !given(&rl.Headers) {
				rl.Headers = true
			}
			if rl.hasInlineRule(given) {
				rateRuleDefaults(&rl.RateRule, given)
			}
			for _, rr := range rl.Limits {
				rateRuleDefaults(rr, given)
			}
		}
		if cl := p.ConcurrencyLimit; cl != nil && cl.Key == "" {
			cl.Key = "client_ip"
		}
		if q := p.Quota; q != nil {
			if q.Fail == "" {
				q.Fail = defaultQuotaFail
			}
			if !given(&q.Timeout) {
				q.Timeout = defaultQuotaTimeout
			}
			if q.QuotaRule.Limit != 0 {
				quotaRuleDefaults(&q.QuotaRule)
			}
		}
		if ch := p.Cache; ch != nil {
			if len(ch.Methods) == 0 {
				ch.Methods = []string{"GET", "HEAD"}
			}
			if !given(&ch.MaxBodyBytes) {
				ch.MaxBodyBytes = defaultCacheMaxBody
			}
		}
	}
}

func rateRuleDefaults(r *RateRule, given func(any) bool) {
	if r.Key == "" {
		r.Key = "client_ip"
	}
	if !given(&r.Cost) {
		r.Cost = 1
	}
	if r.Algorithm == "" {
		r.Algorithm = "sliding_window"
		if r.Burst > 0 {
			r.Algorithm = "gcra"
		}
	}
	if r.Algorithm == "gcra" && r.Burst == 0 {
		r.Burst = r.Limit
	}
}

func quotaRuleDefaults(q *QuotaRule) {
	if q.Period == "" {
		q.Period = "month"
	}
	if q.Key == "" {
		q.Key = "consumer"
	}
}

// hasInlineRule reports whether the rate_limit section gives a rule of
// its own (limit or window) besides any under limits:.
func (rl *RateLimit) hasInlineRule(given func(any) bool) bool {
	return rl.RateRule.Limit != 0 || given(&rl.RateRule.Window)
}
