package config

import (
	"fmt"
	"slices"
	"strings"
)

var (
	rateAlgorithms = []string{"sliding_window", "gcra"}
	rateFailModes  = []string{"open", "closed", "local"}
	quotaFailModes = []string{"open", "closed"}
	quotaPeriods   = []string{"day", "month", "rolling"}
	keyKinds       = []string{"client_ip", "consumer", "api_key", "route", "header", "claim", "query"}
)

// maxLimit is the largest count the stores keep exactly (Redis Lua
// numbers are doubles); a larger limit would be refused on every request.
const maxLimit = 1 << 53

// traffic checks plans and every route's traffic policies.
func (v *validator) traffic(c *Config) {
	first := make(map[string]Pos)
	var plans []string
	for _, p := range c.Plans {
		v.name("plan", p.Name, p.Pos, &p.Name, first)
		plans = append(plans, p.Name)
		owner := label("plan", p.Name)
		if len(p.RateLimits) == 0 && p.Quota == nil {
			v.errorf(p.Pos, owner, "give rate_limits: and/or quota:", "plan sets no limit")
		}
		for _, r := range p.RateLimits {
			v.rateRule(r, owner)
		}
		if p.Quota != nil {
			v.quotaRule(p.Quota, owner)
		}
	}
	for _, cs := range c.Consumers {
		if cs.Plan != "" && !slices.Contains(plans, cs.Plan) {
			v.errorf(v.at(&cs.Plan, cs.Pos), label("consumer", cs.Name), didYouMean(cs.Plan, plans, "define it under plans:"),
				"plan %q not found", cs.Plan)
		}
	}
	if s := c.Store; s != nil && s.Instances < 1 {
		v.errorf(v.at(&s.Instances, s.Pos), "store", "the number of gateway instances sharing the store", "instances must be at least 1")
	}
	for _, r := range c.Routes {
		if r.Policies == nil {
			continue
		}
		p, owner := r.Policies, label("route", r.Name)
		if rl := p.RateLimit; rl != nil {
			inline := rl.hasInlineRule(v.given)
			if inline {
				// The inline rule shares the rate_limit's position: its
				// own Pos is never set by the decoder.
				if rl.RateRule.Pos.Line == 0 {
					rl.RateRule.Pos = rl.Pos
				}
				v.rateRule(&rl.RateRule, owner)
			}
			for _, rr := range rl.Limits {
				v.rateRule(rr, owner)
			}
			if !inline && len(rl.Limits) == 0 && !rl.UsePlan {
				v.errorf(rl.Pos, owner, "e.g. rate_limit: {limit: 100, window: 1s}", "rate_limit sets no limit")
			}
			v.oneOf(v.at(&rl.Fail, rl.Pos), owner, "rate_limit fail mode", rl.Fail, rateFailModes)
			if rl.Timeout <= 0 {
				v.errorf(v.at(&rl.Timeout, rl.Pos), owner, "tens of milliseconds, e.g. 20ms", "rate_limit timeout must be positive")
			}
		}
		if cl := p.ConcurrencyLimit; cl != nil {
			if cl.Max < 1 {
				v.errorf(v.at(&cl.Max, cl.Pos), owner, "e.g. max: 100", "concurrency_limit max must be at least 1")
			}
			v.limitKey(cl.Key, v.at(&cl.Key, cl.Pos), owner)
		}
		if q := p.Quota; q != nil {
			if q.QuotaRule.Limit != 0 {
				v.quotaRule(&q.QuotaRule, owner)
			} else if !q.UsePlan {
				v.errorf(q.Pos, owner, "e.g. quota: {limit: 10000, period: month}", "quota sets no limit")
			}
			v.oneOf(v.at(&q.Fail, q.Pos), owner, "quota fail mode", q.Fail, quotaFailModes)
		}
		if ch := p.Cache; ch != nil {
			for i, s := range ch.Statuses {
				if s < 200 || s > 599 {
					v.errorf(v.at(&ch.Statuses[i], ch.Pos), owner, "a final status code", "cache status %d is out of range", s)
				}
			}
			for i, m := range ch.Methods {
				ch.Methods[i] = strings.ToUpper(m)
			}
			if ch.TTL < 0 || ch.StaleIfError < 0 || ch.StaleWhileRevalidate < 0 || ch.MaxBodyBytes < 0 ||
				ch.KeepForRevalidation < 0 || ch.HeuristicMax < 0 {
				v.errorf(ch.Pos, owner, "", "cache durations and sizes must not be negative")
			}
			if ch.HeuristicPercent < 0 || ch.HeuristicPercent > 100 {
				v.errorf(v.at(&ch.HeuristicPercent, ch.Pos), owner, "e.g. heuristic_percent: 10", "cache heuristic_percent %d is not between 0 and 100", ch.HeuristicPercent)
			}
			if ch.CacheControlField != "" && !validToken(ch.CacheControlField) {
				v.errorf(v.at(&ch.CacheControlField, ch.Pos), owner, "e.g. cache_control_field: Gatehouse-Cache-Control", "cache_control_field %q is not a header name", ch.CacheControlField)
			}
		}
	}
}

func (v *validator) rateRule(r *RateRule, owner string) {
	if r.Limit < 1 || r.Limit > maxLimit {
		v.errorf(v.at(&r.Limit, r.Pos), owner, "e.g. limit: 100, window: 1s", "rate limit needs 1 ≤ limit ≤ 2^53")
	}
	if r.Window <= 0 {
		v.errorf(v.at(&r.Window, r.Pos), owner, "e.g. window: 1s", "rate limit needs a positive window")
	}
	if r.Burst < 0 || r.Cost < 1 {
		v.errorf(r.Pos, owner, "", "burst must not be negative and cost must be at least 1")
	}
	v.oneOf(v.at(&r.Algorithm, r.Pos), owner, "rate limit algorithm", r.Algorithm, rateAlgorithms)
	if r.Algorithm == "sliding_window" && r.Burst > 0 {
		v.errorf(v.at(&r.Burst, r.Pos), owner, "use algorithm: gcra for bursts", "burst applies to gcra only")
	}
	v.limitKey(r.Key, v.at(&r.Key, r.Pos), owner)
}

// limitKey checks a key spec such as "consumer+header:X-Tenant".
func (v *validator) limitKey(spec string, pos Pos, owner string) {
	for part := range strings.SplitSeq(spec, "+") {
		kind, name, hasName := strings.Cut(strings.TrimSpace(part), ":")
		if !v.oneOf(pos, owner, "limit key", kind, keyKinds) {
			continue
		}
		needsName := kind == "header" || kind == "claim" || kind == "query"
		if needsName != (hasName && name != "") {
			v.errorf(pos, owner, "header:NAME, claim:NAME and query:NAME take a name; the others do not",
				"invalid limit key %q", part)
		}
	}
}

func (v *validator) quotaRule(q *QuotaRule, owner string) {
	if q.Limit < 1 || q.Limit > maxLimit {
		v.errorf(v.at(&q.Limit, q.Pos), owner, "e.g. limit: 10000, period: month", "quota needs 1 ≤ limit ≤ 2^53")
	}
	if v.oneOf(v.at(&q.Period, q.Pos), owner, "quota period", q.Period, quotaPeriods) && (q.Period == "rolling") != (q.Window > 0) {
		v.errorf(v.at(&q.Window, q.Pos), owner, "window: is for period: rolling only", "%s", fmt.Sprintf("quota period %s with window %v", q.Period, q.Window))
	}
	v.limitKey(q.Key, v.at(&q.Key, q.Pos), owner)
}
