package ratelimit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// Limiter is a compiled Config. It is safe for concurrent use.
type Limiter struct {
	rules      []rule
	store      store.Store // decides when healthy
	local      store.Store // decides under FailLocal
	guard      *Guard      // nil when store is in-process (Config.Store nil)
	timeout    time.Duration
	failMode   FailMode
	headers    bool
	policy     string // RateLimit-Policy value
	onDecision func(string, bool)
}

// rule is a compiled Rule.
type rule struct {
	name   string
	limit  store.Limit
	local  store.Limit // Rate and Burst ÷ Instances, for FailLocal
	cost   int64
	prefix string // "rl:<route>:<rule>:"
	keyer  *Keyer
}

// New checks cfg and compiles it. Errors say what is wrong; the caller
// adds where.
func New(cfg Config) (*Limiter, error) {
	l, err := newLimiter(cfg)
	if err != nil {
		return nil, fmt.Errorf("rate_limit: %w", err)
	}
	return l, nil
}

func newLimiter(cfg Config) (*Limiter, error) {
	if len(cfg.Rules) == 0 {
		return nil, errors.New("no rules")
	}
	if cfg.Store == nil && cfg.Local == nil {
		return nil, errors.New("no store")
	}
	if cfg.Timeout < 0 || cfg.Instances < 0 {
		return nil, errors.New("timeout and instances must not be negative")
	}
	l := &Limiter{
		store:      cfg.Store,
		local:      cfg.Local,
		timeout:    cfg.Timeout,
		failMode:   cfg.FailMode,
		headers:    cfg.Headers,
		onDecision: cfg.OnDecision,
	}
	if l.timeout == 0 {
		l.timeout = DefaultTimeout
	}
	instances := int64(max(cfg.Instances, 1))
	switch l.failMode {
	case "":
		l.failMode = FailOpen
		if cfg.Store != nil && cfg.Local != nil {
			l.failMode = FailLocal
		}
	case FailOpen, FailClosed:
	case FailLocal:
		if cfg.Store != nil && cfg.Local == nil {
			return nil, errors.New("fail mode local needs a local store")
		}
	default:
		return nil, fmt.Errorf("unknown fail mode %q (use open, closed or local)", cfg.FailMode)
	}
	if cfg.Store == nil {
		// Purely local: Local is the store, it does not fail over.
		l.store = cfg.Local
	} else {
		g, err := NewGuard(GuardConfig{
			Policy:   fmt.Sprintf("rate_limit route %q", cfg.Route),
			Breaker:  cfg.Breaker,
			OnError:  cfg.OnError,
			Logger:   cfg.Logger,
			LogEvery: cfg.LogEvery,
			Now:      cfg.Now,
		})
		if err != nil {
			return nil, err
		}
		l.guard = g
	}
	seen := make(map[string]bool)
	var policy []string
	for i, r := range cfg.Rules {
		ru, err := compileRule(cfg.Route, r, instances)
		if err != nil {
			return nil, fmt.Errorf("rule %d: %w", i+1, err)
		}
		if seen[ru.name] {
			return nil, fmt.Errorf("rule %d: name %q is used twice", i+1, ru.name)
		}
		seen[ru.name] = true
		l.rules = append(l.rules, ru)
		policy = append(policy, strconv.FormatInt(ru.limit.Rate, 10)+";w="+strconv.FormatInt(ceilSeconds(ru.limit.Period), 10))
	}
	l.policy = strings.Join(policy, ", ")
	// Check short periods first (see Config.Rules).
	slices.SortStableFunc(l.rules, func(a, b rule) int { return cmp.Compare(a.limit.Period, b.limit.Period) })
	return l, nil
}

func compileRule(route string, r Rule, instances int64) (rule, error) {
	lim := r.Limit
	switch {
	case lim.Rate < 1:
		return rule{}, errors.New("rate must be at least 1")
	case lim.Period <= 0:
		return rule{}, errors.New("period must be positive")
	case lim.Burst < 0:
		return rule{}, errors.New("burst must not be negative")
	case r.Cost < 0:
		return rule{}, errors.New("cost must not be negative")
	}
	capacity := lim.Rate
	switch lim.Algorithm {
	case store.SlidingWindow:
	case store.GCRA:
		if lim.Burst == 0 {
			lim.Burst = lim.Rate
		}
		capacity = lim.Burst
		if lim.Period/time.Duration(lim.Rate) < time.Microsecond {
			return rule{}, errors.New("gcra cannot admit more than one request per microsecond")
		}
	default:
		return rule{}, fmt.Errorf("unknown algorithm %d", lim.Algorithm)
	}
	ru := rule{name: r.Name, limit: lim, cost: max(r.Cost, 1)}
	if ru.cost > capacity {
		return rule{}, fmt.Errorf("cost %d exceeds the limit's capacity %d: no request could pass", ru.cost, capacity)
	}
	if ru.name == "" {
		ru.name = strconv.FormatInt(lim.Rate, 10) + "-per-" + lim.Period.String()
	}
	// Under FailLocal each instance takes its share, never less than one
	// request's cost, so a request can still pass somewhere.
	ru.local = lim
	ru.local.Rate = max(lim.Rate/instances, ru.cost, 1)
	if lim.Algorithm == store.GCRA {
		ru.local.Burst = max(lim.Burst/instances, ru.cost, 1)
	}
	k, err := NewKeyer(r.Key)
	if err != nil {
		return rule{}, err
	}
	ru.keyer = k
	ru.prefix = "rl:" + KeyValue(route) + ":" + KeyValue(ru.name) + ":"
	return ru, nil
}

// verdict is the outcome of checking a request against every rule.
type verdict struct {
	// decided is false when nothing could decide (FailOpen or FailClosed
	// after a store failure).
	decided bool
	allowed bool
	// rule and res are the refusing rule, or the most restrictive one.
	rule *rule
	res  store.RateResult
}

// Wrap enforces the limits in front of next: 429 problem+json with
// Retry-After when a rule refuses; 503 problem+json under FailClosed
// when the store cannot answer. With Headers, decided responses carry
// the RateLimit-* headers of the most restrictive rule (the one with the
// fewest requests remaining).
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := l.check(r)
		if !v.decided {
			if l.failMode == FailClosed {
				unavailable(w, r)
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if l.headers {
			l.setHeaders(w.Header(), v.res)
		}
		if !v.allowed {
			tooMany(w, r, v.rule.name, v.res.RetryAfter)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// check decides r: with the store when it answers, else by fail mode.
func (l *Limiter) check(r *http.Request) verdict {
	if l.guard == nil {
		v, _ := l.checkWith(r, l.store, false, 0)
		return v
	}
	probe, err := l.guard.Enter()
	if err == nil {
		var v verdict
		v, err = l.checkWith(r, l.store, false, l.timeout)
		l.guard.Exit(err, probe)
		if err == nil {
			return v
		}
	}
	// The store could not decide (Exit or Enter reported why).
	if l.failMode != FailLocal {
		return verdict{}
	}
	v, _ := l.checkWith(r, l.local, true, 0)
	return v
}

// checkWith runs the rules against st, stopping at the first refusal or
// error. timeout, when positive, bounds each call. A store error leaves
// the request undecided; so does one from Local, whose fail mode is open.
func (l *Limiter) checkWith(r *http.Request, st store.Store, local bool, timeout time.Duration) (verdict, error) {
	var buf [192]byte
	v := verdict{decided: true, allowed: true}
	for i := range l.rules {
		ru := &l.rules[i]
		key := ru.keyer.AppendKey(append(buf[:0], ru.prefix...), r)
		lim := ru.limit
		if local {
			lim = ru.local
		}
		res, err := allowN(r.Context(), st, string(key), lim, ru.cost, timeout)
		if err != nil {
			return verdict{}, err
		}
		if !res.Allowed {
			l.report(i, false)
			return verdict{decided: true, rule: ru, res: res}, nil
		}
		if v.rule == nil || res.Remaining < v.res.Remaining ||
			res.Remaining == v.res.Remaining && res.ResetAfter > v.res.ResetAfter {
			v.rule, v.res = ru, res
		}
	}
	l.report(len(l.rules)-1, true)
	return v, nil
}

// report calls OnDecision for rules[0..last]: all allowed but the last
// when it refused. Only decisions of a check that completed are
// reported, so a request the shared store failed halfway through and
// Local then decided is not counted twice.
func (l *Limiter) report(last int, allowed bool) {
	if l.onDecision == nil {
		return
	}
	for i := 0; i <= last; i++ {
		l.onDecision(l.rules[i].name, allowed || i < last)
	}
}

func allowN(ctx context.Context, st store.Store, key string, lim store.Limit, n int64, timeout time.Duration) (store.RateResult, error) {
	if timeout <= 0 {
		return st.AllowN(ctx, key, lim, n)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return st.AllowN(ctx, key, lim, n)
}
