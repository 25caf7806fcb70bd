package kubernetes

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// An HTTPRoute rule's timeouts and retry (GEP-1742, GEP-1731) become the
// route's timeout and retry policy.
//
//   - timeouts.request is the route timeout (the whole exchange, body
//     included → 504). "0s" disables it; Gatehouse can, but an omitted
//     timeout takes its 60s default and the encoded YAML leaves zero
//     values out, so "0s" is written as noTimeout, the longest value the
//     API itself allows as the fallback.
//   - timeouts.backendRequest is the retry policy's per-try timeout, which
//     bounds each attempt up to its response header (the route timeout
//     then bounds the body). Without retry the policy has 1 attempt, so
//     setting it also turns off Gatehouse's default redispatch.
//   - retry.attempts counts retries, Gatehouse's attempts count tries: +1,
//     capped at config's 10 tries. Without attempts, Gatehouse's default
//     (2 tries). codes are retried, and so are connection failures,
//     resets and timeouts (the API: implementations SHOULD). backoff is
//     a minimum wait (backoff_min); the jittered exponential back-off
//     stays on top of it. A Service with one endpoint is retried on it
//     (same_target), since the API retries requests, not targets.
//     Deviation: only idempotent requests are retried (Gatehouse's rule,
//     RFC 9110 §9.2.2), as with every Gatehouse retry policy.

// noTimeout stands for a disabled route timeout ("0s"): 100 years.
const noTimeout = 100 * 365 * 24 * time.Hour

// maxTries is config's limit on retry.attempts.
const maxTries = 10

// checkResilience checks a rule's timeouts and retry as the CRD would.
func checkResilience(rule gwv1.HTTPRouteRule) error {
	var req, backend time.Duration
	var err error
	if to := rule.Timeouts; to != nil {
		if to.Request != nil {
			if req, err = parseDuration(*to.Request); err != nil || req < 0 {
				return fmt.Errorf("timeouts.request %q is not a duration", *to.Request)
			}
		}
		if to.BackendRequest != nil {
			if backend, err = parseDuration(*to.BackendRequest); err != nil || backend < 0 {
				return fmt.Errorf("timeouts.backendRequest %q is not a duration", *to.BackendRequest)
			}
		}
		if req > 0 && backend > req { // the CRD's CEL rule
			return fmt.Errorf("timeouts.backendRequest must not be longer than timeouts.request")
		}
	}
	if r := rule.Retry; r != nil {
		if r.Attempts != nil && *r.Attempts < 0 {
			return fmt.Errorf("retry.attempts %d is negative", *r.Attempts)
		}
		for _, c := range r.Codes {
			if c < 400 || c > 599 {
				return fmt.Errorf("retry code %d is not within 400-599", c)
			}
		}
		if r.Backoff != nil {
			if d, err := parseDuration(*r.Backoff); err != nil || d < 0 {
				return fmt.Errorf("retry.backoff %q is not a duration", *r.Backoff)
			}
		}
	}
	return nil
}

// routeTimeout is the rule's request timeout: 0 (Gatehouse's default)
// when unset, noTimeout for "0s".
func routeTimeout(rule gwv1.HTTPRouteRule) time.Duration {
	if rule.Timeouts == nil || rule.Timeouts.Request == nil {
		return 0
	}
	d, _ := parseDuration(*rule.Timeouts.Request)
	if d == 0 {
		return noTimeout
	}
	return d
}

// retryPolicy is the rule's retry policy, nil to keep Gatehouse's default
// (no retry stanza and no backendRequest timeout).
func retryPolicy(rule gwv1.HTTPRouteRule) *config.Retry {
	var perTry time.Duration
	if to := rule.Timeouts; to != nil && to.BackendRequest != nil {
		perTry, _ = parseDuration(*to.BackendRequest)
	}
	r := rule.Retry
	if r == nil && perTry == 0 {
		return nil
	}
	rt := &config.Retry{Attempts: 1, PerTryTimeout: perTry}
	if r == nil {
		return rt
	}
	rt.Attempts = 0 // Gatehouse's default
	if r.Attempts != nil {
		rt.Attempts = min(*r.Attempts+1, maxTries)
	}
	rt.On = []string{"connect-failure", "reset", "timeout"}
	for _, c := range r.Codes {
		rt.On = append(rt.On, strconv.Itoa(int(c)))
	}
	if r.Backoff != nil {
		rt.BackoffMin, _ = parseDuration(*r.Backoff)
	}
	rt.SameTarget = true
	return rt
}
