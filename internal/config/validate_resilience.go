package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

var (
	hashOn         = []string{"client_ip", "sni", "header", "cookie", "query"}
	hashFallbacks  = []string{"random", "round_robin", "weighted_round_robin", "least_request", "least_connections", "p2c_ewma"}
	checkTypes     = []string{"http", "tcp", "tls", "udp", "grpc"}
	noneHealthy    = []string{"fail", "all"}
	sameSites      = []string{"lax", "strict", "none"}
	retryOnAliases = []string{"connect-failure", "reset", "timeout", "5xx"}
)

// resilience validates an upstream's load-balancing sections.
func (v *validator) resilience(u *Upstream, owner string) {
	v.oneOf(v.at(&u.WhenNoneHealthy, u.Pos), owner, "when_none_healthy", u.WhenNoneHealthy, noneHealthy)
	if h := u.Hash; h != nil {
		p := v.at(&u.Hash, u.Pos)
		if u.Balance != "hash" {
			v.errorf(p, owner, "set balance: hash, or remove hash:", "hash: is only used with balance: hash")
		}
		v.oneOf(v.at(&h.On, p), owner, "hash.on", h.On, hashOn)
		if h.On != "client_ip" && h.On != "sni" && h.Key == "" {
			v.errorf(p, owner, "name the "+h.On+" to hash, e.g. key: X-User-Id", "hash on %s needs a key", h.On)
		}
		v.oneOf(v.at(&h.Fallback, p), owner, "hash.fallback", h.Fallback, hashFallbacks)
	}
	if hc := u.HealthCheck; hc != nil {
		p := v.at(&u.HealthCheck, u.Pos)
		v.oneOf(v.at(&hc.Type, p), owner, "health_check.type", hc.Type, checkTypes)
		if hc.Type == "http" && !strings.HasPrefix(hc.Path, "/") {
			v.errorf(v.at(&hc.Path, p), owner, "e.g. path: /healthz", "health_check.path must start with /")
		}
		for i, s := range hc.ExpectStatus {
			if _, _, err := ParseStatusRange(s); err != nil {
				v.errorf(v.at(&hc.ExpectStatus[i], p), owner, `use a code like "204" or a range like "200-399"`, "health_check.expect_status: %v", err)
			}
		}
		if hc.Interval <= 0 || hc.Timeout <= 0 {
			v.errorf(p, owner, "e.g. interval: 5s, timeout: 1s", "health_check interval and timeout must be above 0")
		}
		if hc.HealthyThreshold < 1 || hc.UnhealthyThreshold < 1 {
			v.errorf(p, owner, "use 1 or more", "health_check thresholds must be at least 1")
		}
	}
	if o := u.OutlierDetection; o != nil {
		p := v.at(&u.OutlierDetection, u.Pos)
		if o.ConsecutiveFailures < 1 {
			v.errorf(v.at(&o.ConsecutiveFailures, p), owner, "remove outlier_detection: to disable it", "consecutive_failures must be at least 1")
		}
		if o.MaxEjectedPercent < 0 || o.MaxEjectedPercent > 100 {
			v.errorf(v.at(&o.MaxEjectedPercent, p), owner, "use 0..100", "max_ejected_percent %d is out of range", o.MaxEjectedPercent)
		}
		if o.BaseEjection <= 0 || o.MaxEjection < o.BaseEjection {
			v.errorf(p, owner, "e.g. base_ejection: 30s, max_ejection: 300s", "base_ejection must be above 0 and at most max_ejection")
		}
	}
	if cb := u.CircuitBreaker; cb != nil {
		p := v.at(&u.CircuitBreaker, u.Pos)
		if cb.MaxInFlight < 1 || cb.MaxPending < 0 {
			v.errorf(p, owner, "e.g. max_in_flight: 1000, max_pending: 100", "circuit_breaker needs max_in_flight ≥ 1 and max_pending ≥ 0")
		}
	}
	if b := u.RetryBudget; b != nil && (b.Ratio < 0 || b.Ratio > 1 || b.MinConcurrent < 0) {
		v.errorf(v.at(&u.RetryBudget, u.Pos), owner, "e.g. ratio: 0.2, min_concurrent: 3", "retry_budget ratio must be within 0..1 and min_concurrent ≥ 0")
	}
	if st := u.Sticky; st != nil {
		p := v.at(&u.Sticky, u.Pos)
		v.oneOf(v.at(&st.SameSite, p), owner, "sticky.same_site", st.SameSite, sameSites)
		if !validToken(st.Cookie) {
			v.errorf(v.at(&st.Cookie, p), owner, "use letters, digits, - and _", "invalid sticky cookie name %q", st.Cookie)
		}
		if st.SameSite == "none" && !st.Secure {
			v.errorf(p, owner, "set secure: true", "browsers drop SameSite=None cookies that are not Secure")
		}
	}
	if u.SlowStart < 0 {
		v.errorf(v.at(&u.SlowStart, u.Pos), owner, "use a duration such as 30s, or 0 to disable", "slow_start must not be negative")
	}
	if d := u.Discovery; d != nil && d.SRV {
		for _, t := range u.Targets {
			if h := targetHost(t.URL); !strings.HasPrefix(h, "_") {
				v.errorf(t.Pos, owner, "an SRV name such as http://_http._tcp.api.internal", "discovery.srv: target %s is not an SRV name", t.URL)
			}
		}
	}
	if d := u.Discovery; d != nil && d.Interval <= 0 {
		v.errorf(v.at(&u.Discovery, u.Pos), owner, "e.g. interval: 30s", "discovery.interval must be above 0")
	}
	for _, t := range u.Targets {
		if t.Priority < 0 || t.Priority > 100 {
			v.errorf(v.at(&t.Priority, t.Pos), owner, "use 0 (primary) .. 100", "priority %d is out of range", t.Priority)
		}
	}
}

// retry validates a route's retry policy.
func (v *validator) retry(r *Route, owner string) {
	rt := r.Retry
	p := v.at(&r.Retry, r.Pos)
	if r.Backend == nil {
		v.errorf(p, owner, "retry applies to backend: routes only", "retry on a route without a backend")
	}
	if rt.Attempts < 1 || rt.Attempts > 10 {
		v.errorf(v.at(&rt.Attempts, p), owner, "use 1..10 (tries, the first included)", "retry.attempts %d is out of range", rt.Attempts)
	}
	for i, on := range rt.On {
		if contains(retryOnAliases, on) {
			continue
		}
		// 4xx codes too: Gateway API's retry.codes may name them, and the
		// proxy retries any status 400-599.
		if code, err := strconv.Atoi(on); err == nil && code >= 400 && code <= 599 && len(on) == 3 {
			continue
		}
		v.errorf(v.at(&rt.On[i], p), owner, didYouMean(on, retryOnAliases, "use connect-failure, reset, timeout, 5xx or a status code 400-599"),
			"unknown retry condition %q", on)
	}
	if rt.PerTryTimeout < 0 || rt.BackoffBase < 0 || rt.BackoffMax < rt.BackoffBase || rt.BackoffMin < 0 || rt.BufferBytes < 0 {
		v.errorf(p, owner, "durations and sizes must not be negative; backoff_max ≥ backoff_base", "invalid retry timing")
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// ParseStatusRange parses "200" or "200-399" into an inclusive range.
func ParseStatusRange(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(strings.TrimSpace(s), "-")
	lo, err = strconv.Atoi(strings.TrimSpace(a))
	if err != nil {
		return 0, 0, fmt.Errorf("%q is not a status code or range", s)
	}
	hi = lo
	if isRange {
		if hi, err = strconv.Atoi(strings.TrimSpace(b)); err != nil {
			return 0, 0, fmt.Errorf("%q is not a status code or range", s)
		}
	}
	if lo < 100 || hi > 599 || lo > hi {
		return 0, 0, fmt.Errorf("%q is out of 100..599 or reversed", s)
	}
	return lo, hi, nil
}

// targetHost is the host of a target URL ("" when it does not parse).
func targetHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
