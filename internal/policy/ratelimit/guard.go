package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

// ErrBreakerOpen is reported for requests decided without the store
// because its circuit breaker is open. It wraps store.ErrUnavailable.
var ErrBreakerOpen = fmt.Errorf("%w: circuit breaker open", store.ErrUnavailable)

// GuardConfig configures a Guard.
type GuardConfig struct {
	// Policy labels log lines, e.g. `rate_limit route "api"`.
	Policy  string
	Breaker BreakerConfig
	// OnError is called for every failed call and every call the open
	// breaker skipped.
	OnError func(error)
	// Logger defaults to slog.Default(); LogEvery to DefaultLogEvery.
	Logger   *slog.Logger
	LogEvery time.Duration
	// Now defaults to time.Now.
	Now func() time.Time
}

// Guard stands between a policy and its shared store: a circuit breaker
// (after Failures consecutive failures the store is skipped for OpenFor,
// then one probe call decides whether to close again) and the failure
// reporting (OnError for each, a log line at most once per LogEvery, and
// one "recovered" line when the store answers again). The rate limit and
// quota policies share it. It is safe for concurrent use; the healthy
// path costs a few atomic loads.
type Guard struct {
	policy   string
	failures int64
	openFor  int64 // ns
	onError  func(error)
	log      *slog.Logger
	logEvery int64 // ns
	now      func() time.Time

	open      atomic.Bool
	openUntil atomic.Int64 // unix ns
	probing   atomic.Bool
	streak    atomic.Int64 // consecutive failures

	failing    atomic.Bool
	since      atomic.Int64 // unix ns of the first failure of this episode
	lastLog    atomic.Int64 // unix ns of the last failure line
	announced  atomic.Bool  // a failure line was logged since the last recovery line
	suppressed atomic.Int64
}

// NewGuard checks cfg and fills its defaults.
func NewGuard(cfg GuardConfig) (*Guard, error) {
	b, err := cfg.Breaker.withDefaults()
	if err != nil {
		return nil, err
	}
	if cfg.LogEvery < 0 {
		return nil, errors.New("log interval must not be negative")
	}
	g := &Guard{
		policy:   cfg.Policy,
		failures: int64(b.Failures),
		openFor:  int64(b.OpenFor),
		onError:  cfg.OnError,
		log:      cfg.Logger,
		logEvery: int64(cfg.LogEvery),
		now:      cfg.Now,
	}
	if g.log == nil {
		g.log = slog.Default()
	}
	if g.logEvery == 0 {
		g.logEvery = int64(DefaultLogEvery)
	}
	if g.now == nil {
		g.now = time.Now
	}
	return g, nil
}

// Enter says whether to call the store. It returns ErrBreakerOpen (already
// reported) when the breaker is open; otherwise the caller must call
// Exit with the call's outcome and the returned probe flag (set for the
// one call a half-open breaker lets through).
func (g *Guard) Enter() (probe bool, err error) {
	if !g.open.Load() {
		return false, nil
	}
	if g.now().UnixNano() >= g.openUntil.Load() && g.probing.CompareAndSwap(false, true) {
		return true, nil
	}
	g.report(ErrBreakerOpen)
	return false, ErrBreakerOpen
}

// Exit records the outcome of a store call Enter allowed.
func (g *Guard) Exit(err error, probe bool) {
	if err == nil {
		if g.streak.Load() != 0 {
			g.streak.Store(0)
		}
		if g.open.Load() {
			g.open.Store(false)
		}
		if probe {
			g.probing.Store(false)
		}
		if g.failing.Load() && g.failing.CompareAndSwap(true, false) {
			g.recovered()
		}
		return
	}
	g.report(err)
	if errors.Is(err, store.ErrInvalidArgument) {
		// A call that can never succeed as made is a bug or bad config,
		// not an outage: it must not open the breaker for everyone.
		if probe {
			g.probing.Store(false)
		}
		return
	}
	now := g.now().UnixNano()
	if probe {
		// The probe failed: stay open for another period.
		g.openUntil.Store(now + g.openFor)
		g.probing.Store(false)
		return
	}
	if g.streak.Add(1) >= g.failures && !g.open.Load() {
		g.openUntil.Store(now + g.openFor)
		g.open.Store(true)
	}
}

// Open reports whether the breaker is open (for tests and status pages).
func (g *Guard) Open() bool { return g.open.Load() }

// report counts err and logs it unless a line was logged within logEvery.
func (g *Guard) report(err error) {
	if g.onError != nil {
		g.onError(err)
	}
	now := g.now().UnixNano()
	if !g.failing.Load() {
		g.since.Store(now)
		g.failing.Store(true)
	}
	last := g.lastLog.Load()
	if last != 0 && now-last < g.logEvery || !g.lastLog.CompareAndSwap(last, now) {
		g.suppressed.Add(1)
		return
	}
	g.announced.Store(true)
	g.log.Warn("store unavailable; deciding by fail mode",
		"policy", g.policy, "error", err.Error(), "breaker_open", g.open.Load(),
		"suppressed", g.suppressed.Swap(0))
}

// recovered logs the end of an episode whose failure was announced, so
// a flapping store yields at most one pair of lines per logEvery.
func (g *Guard) recovered() {
	if !g.announced.CompareAndSwap(true, false) {
		return
	}
	down := time.Duration(g.now().UnixNano() - g.since.Load())
	g.log.Info("store recovered", "policy", g.policy, "failing_for", down.Round(time.Millisecond).String(),
		"suppressed", g.suppressed.Swap(0))
}
