// Package quota caps how many requests a key (by default the consumer)
// may make per calendar day or month (UTC), or per fixed window of a
// given length, counted in the shared store so that every gateway
// instance draws on the same allowance.
package quota

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/policy/ratelimit"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/store"
)

// Period is what a quota's counter covers.
type Period string

const (
	// Day is a calendar day in UTC, reset at 00:00 UTC.
	Day Period = "day"
	// Month is a calendar month in UTC, reset at 00:00 UTC on the 1st.
	Month Period = "month"
	// Rolling is a window of Config.Window that slides: the count is the
	// current fixed window's (aligned to multiples of the window length
	// since the Unix epoch) plus the previous window's weighted by how
	// much of it the rolling window still covers — the sliding window
	// counter, exact when requests are spread evenly over the previous
	// window, and never letting a client spend twice the limit across a
	// boundary. (An exact count would need per-request timestamps.)
	Rolling Period = "rolling"
)

const (
	// DefaultTimeout bounds one store call when Config.Timeout is 0.
	DefaultTimeout = 50 * time.Millisecond
	// expiryGrace keeps a counter a little past its period's end, so an
	// instance whose clock lags does not recreate (and re-expire) an
	// already-expired counter around the boundary.
	expiryGrace = time.Minute
)

// Config configures a Quota.
type Config struct {
	// Route names the route (for logs, and the default Scope).
	Route string
	// Limit is how many requests a key may make per period.
	Limit int64
	// Period is Day, Month or Rolling (with Window, whole seconds).
	Period Period
	Window time.Duration
	// Store holds the counters (shared Redis, or Memory persisted to disk).
	Store store.Store
	// Timeout bounds each store call, default 50ms; calls to a
	// store.Memory, which never blocks, get no deadline.
	Timeout time.Duration
	// FailMode is FailOpen (default) or FailClosed; quotas have no local
	// fallback, since a per-instance share of a monthly count means little.
	FailMode ratelimit.FailMode
	// Breaker tunes the circuit breaker around Store.
	Breaker ratelimit.BreakerConfig
	// Key is what the quota counts by, default the consumer. A request
	// missing a part is counted by its client IP (see ratelimit.Keyer).
	Key []ratelimit.KeyPart
	// Scope namespaces the counters: routes with the same Scope (a plan's
	// name) share one allowance. Default "route:" + Route.
	Scope string
	// OnDecision is called for every decided request; OnError for every
	// request decided without the store.
	OnDecision func(allowed bool)
	OnError    func(err error)
	// Logger receives store failures (at most one line per 10s) and
	// recoveries.
	Logger *slog.Logger
	// Now is the clock, default time.Now.
	Now func() time.Time
}

// Quota is a compiled Config. It is safe for concurrent use.
type Quota struct {
	limit      int64
	period     Period
	window     time.Duration
	store      store.Store
	timeout    time.Duration // 0: no deadline (an in-process store)
	failMode   ratelimit.FailMode
	keyer      *ratelimit.Keyer
	scope      string // scopePrefix(Config.Scope), escaped once here
	guard      *ratelimit.Guard
	onDecision func(bool)
	now        func() time.Time
}

// New checks cfg and compiles it.
func New(cfg Config) (*Quota, error) {
	q, err := newQuota(cfg)
	if err != nil {
		return nil, fmt.Errorf("quota: %w", err)
	}
	return q, nil
}

func newQuota(cfg Config) (*Quota, error) {
	switch {
	case cfg.Limit < 1:
		return nil, errors.New("limit must be at least 1")
	case cfg.Store == nil:
		return nil, errors.New("no store")
	case cfg.Timeout < 0:
		return nil, errors.New("timeout must not be negative")
	}
	if err := checkPeriod(cfg.Period, cfg.Window); err != nil {
		return nil, err
	}
	q := &Quota{
		limit: cfg.Limit, period: cfg.Period, window: cfg.Window, store: cfg.Store,
		timeout: cfg.Timeout, failMode: cfg.FailMode,
		onDecision: cfg.OnDecision, now: cfg.Now,
	}
	switch q.failMode {
	case "":
		q.failMode = ratelimit.FailOpen
	case ratelimit.FailOpen, ratelimit.FailClosed:
	default:
		return nil, fmt.Errorf("unknown fail mode %q (use open or closed)", cfg.FailMode)
	}
	if q.timeout == 0 {
		q.timeout = DefaultTimeout
	}
	if _, ok := cfg.Store.(*store.Memory); ok {
		// It never blocks and ignores contexts: a deadline would only
		// cost a timer per call.
		q.timeout = 0
	}
	if q.now == nil {
		q.now = time.Now
	}
	if cfg.Scope == "" {
		cfg.Scope = "route:" + cfg.Route
	}
	q.scope = scopePrefix(cfg.Scope)
	parts := cfg.Key
	if len(parts) == 0 {
		parts = []ratelimit.KeyPart{{Kind: ratelimit.KindConsumer}}
	}
	k, err := ratelimit.NewKeyer(parts)
	if err != nil {
		return nil, err
	}
	q.keyer = k
	g, err := ratelimit.NewGuard(ratelimit.GuardConfig{
		Policy: fmt.Sprintf("quota route %q", cfg.Route), Breaker: cfg.Breaker,
		OnError: cfg.OnError, Logger: cfg.Logger, Now: cfg.Now,
	})
	if err != nil {
		return nil, err
	}
	q.guard = g
	return q, nil
}

func checkPeriod(p Period, window time.Duration) error {
	switch p {
	case Day, Month:
		if window != 0 {
			return fmt.Errorf("window applies to period rolling only")
		}
	case Rolling:
		if window < time.Second || window%time.Second != 0 {
			return fmt.Errorf("rolling window %v must be a whole number of seconds, at least 1s", window)
		}
	default:
		return fmt.Errorf("unknown period %q (use day, month or rolling)", p)
	}
	return nil
}

// Wrap counts each request against the key's allowance for the current
// period. Within it, the request goes on with X-Quota-Limit,
// X-Quota-Remaining and X-Quota-Reset (seconds until the period ends);
// over it, 429 problem+json with Retry-After until the period ends
// (refused requests consume nothing). When the store cannot answer,
// FailOpen lets the request through and FailClosed answers 503.
func (q *Quota) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := q.now()
		var buf [192]byte
		key := string(q.keyer.AppendKey(buf[:0], r))
		ckey, end := counterKey(q.scope, key, q.period, q.window, now)
		var carried int64 // the previous window's weighted share (Rolling)
		var prev int64
		var err error
		if q.period == Rolling {
			prev, carried, err = q.carried(r.Context(), key, now, end)
		}
		var res store.QuotaResult
		if err == nil {
			res, err = q.consume(r.Context(), ckey, end, q.limit-carried)
		}
		if err != nil {
			if q.failMode == ratelimit.FailClosed {
				w.Header().Set("Retry-After", "1")
				problem.Write(w, r, http.StatusServiceUnavailable, "quota accounting is temporarily unavailable")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		if q.onDecision != nil {
			q.onDecision(res.Allowed)
		}
		reset := ceilSeconds(end.Sub(now))
		retry := reset
		if q.period == Rolling && !res.Allowed {
			retry = ceilSeconds(rollingWait(q.limit, prev, res.Used, end.Sub(now), q.window))
		}
		// One backing array for all the header values: one allocation.
		vals := [...]string{
			strconv.FormatInt(q.limit, 10),
			strconv.FormatInt(max(q.limit-carried-res.Used, 0), 10),
			strconv.FormatInt(reset, 10),
			"",
		}
		h := w.Header()
		h["X-Quota-Limit"] = vals[0:1:1]
		h["X-Quota-Remaining"] = vals[1:2:2]
		h["X-Quota-Reset"] = vals[2:3:3]
		if !res.Allowed {
			vals[3] = strconv.FormatInt(max(retry, 1), 10)
			h["Retry-After"] = vals[3:4:4]
			problem.WriteDetails(w, r, problem.Details{
				Status: http.StatusTooManyRequests,
				Detail: fmt.Sprintf("quota of %d requests per %s exhausted; resets in %d s", q.limit, q.periodName(), retry),
			})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// consume adds one request to the counter if it stays within max,
// through the breaker and with a deadline.
func (q *Quota) consume(ctx context.Context, ckey string, end time.Time, max int64) (store.QuotaResult, error) {
	probe, err := q.guard.Enter()
	if err != nil {
		return store.QuotaResult{}, err
	}
	ctx, cancel := q.withTimeout(ctx)
	defer cancel()
	expire := end.Add(expiryGrace)
	if q.period == Rolling { // it counts on through the next window
		expire = expire.Add(q.window)
	}
	res, err := q.store.Consume(ctx, ckey, 1, max, expire)
	q.guard.Exit(err, probe)
	return res, err
}

// withTimeout bounds a store call by the timeout, if there is one.
func (q *Quota) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if q.timeout == 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, q.timeout)
}

// carried reads the previous window's counter and returns it with the
// share the rolling window still covers, rounded up. The previous window
// is over, so its counter no longer changes: reading it and then
// consuming from the current one with the limit lowered by its share is
// as atomic as one step.
func (q *Quota) carried(ctx context.Context, key string, now, end time.Time) (prev, share int64, err error) {
	probe, err := q.guard.Enter()
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := q.withTimeout(ctx)
	defer cancel()
	pkey, _ := counterKey(q.scope, key, Rolling, q.window, now.Add(-q.window))
	prev, err = q.store.Counter(ctx, pkey)
	q.guard.Exit(err, probe)
	return prev, weighted(prev, end.Sub(now), q.window), err
}

// weighted is prev × left/window rounded up: the previous window's count
// still inside a rolling window whose current fixed window has left to run.
func weighted(prev int64, left, window time.Duration) int64 {
	if prev <= 0 || left <= 0 {
		return 0
	}
	num := float64(prev) * float64(left) / float64(window)
	return int64(math.Ceil(num - 1e-9))
}

// rollingWait is how long until one more request fits: while the
// current window alone is under the limit, until the previous window's
// share has decayed enough; otherwise into the next window, until this
// window's share (then the previous one) has.
func rollingWait(limit, prev, curr int64, left, window time.Duration) time.Duration {
	room := limit - 1 - curr // requests of the previous window that may still count
	if room >= 0 {
		if prev <= room {
			return 0
		}
		return left - mulDiv(window, room, prev)
	}
	return left + mulDiv(window, curr-(limit-1), curr)
}

// mulDiv is d×a/b without overflow for durations up to years.
func mulDiv(d time.Duration, a, b int64) time.Duration {
	return time.Duration(float64(d) / float64(b) * float64(a)).Round(time.Millisecond)
}

func (q *Quota) periodName() string {
	if q.period == Rolling {
		return q.window.String()
	}
	return string(q.period)
}

// CounterKey returns the store key of key's counter in scope for the
// period containing now, "q:<scope>:<key>:<period-start>", and when that
// period ends. scope is escaped with ratelimit.KeyValue; key is used as
// given: a request's key as ratelimit.Keyer derives it, which for the
// default consumer key is ratelimit.KeyValue(consumer name). The period
// start is "2006-01-02" for Day, "2006-01" for Month, and
// "<window seconds>s@<unix start>" for Rolling (a window under 1s is
// taken as 1s).
func CounterKey(scope, key string, period Period, window time.Duration, now time.Time) (string, time.Time) {
	return counterKey(scopePrefix(scope), key, period, window, now)
}

// scopePrefix is the start of every counter key of scope, "q:<scope>:".
func scopePrefix(scope string) string { return "q:" + ratelimit.KeyValue(scope) + ":" }

// counterKey is CounterKey with the scope already made a scopePrefix, as
// Quota keeps it so that requests do not escape it again.
func counterKey(prefix, key string, period Period, window time.Duration, now time.Time) (string, time.Time) {
	now = now.UTC()
	var label string
	var end time.Time
	switch period {
	case Month:
		start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		label, end = start.Format("2006-01"), start.AddDate(0, 1, 0)
	case Rolling:
		secs := max(int64(window/time.Second), 1)
		unix := now.Unix()
		start := unix - ((unix%secs)+secs)%secs // floor, also before 1970
		label = strconv.FormatInt(secs, 10) + "s@" + strconv.FormatInt(start, 10)
		end = time.Unix(start+secs, 0).UTC()
	default: // Day
		start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
		label, end = start.Format("2006-01-02"), start.AddDate(0, 0, 1)
	}
	return prefix + key + ":" + label, end
}

// Usage reads key's counter in scope for the period containing now: how
// many requests it has used and when the period resets. For the admin
// API; key is as for CounterKey.
func Usage(ctx context.Context, st store.Store, scope, key string, period Period, window time.Duration, now time.Time) (used int64, resetAt time.Time, err error) {
	if err := checkPeriod(period, window); err != nil {
		return 0, time.Time{}, fmt.Errorf("quota: %w", err)
	}
	ckey, end := CounterKey(scope, key, period, window, now)
	used, err = st.Counter(ctx, ckey)
	if err != nil {
		return 0, time.Time{}, err
	}
	if period == Rolling {
		pkey, _ := CounterKey(scope, key, period, window, now.Add(-window))
		prev, err := st.Counter(ctx, pkey)
		if err != nil {
			return 0, time.Time{}, err
		}
		used += weighted(prev, end.Sub(now), window)
	}
	return used, end, nil
}

// Reset deletes key's counter in scope for the period containing now,
// giving it its whole allowance back.
func Reset(ctx context.Context, st store.Store, scope, key string, period Period, window time.Duration, now time.Time) error {
	if err := checkPeriod(period, window); err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	ckey, _ := CounterKey(scope, key, period, window, now)
	if err := st.DeleteCounter(ctx, ckey); err != nil {
		return err
	}
	if period == Rolling { // the previous window still counts
		pkey, _ := CounterKey(scope, key, period, window, now.Add(-window))
		return st.DeleteCounter(ctx, pkey)
	}
	return nil
}

// ceilSeconds rounds d up to whole seconds (0 for d ≤ 0).
func ceilSeconds(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Second - 1) / time.Second)
}
