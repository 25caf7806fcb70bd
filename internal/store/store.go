// Package store is Gatehouse's shared state: rate-limit decisions, quota
// counters and cached responses. Two implementations: Memory (the
// default, one process, quota counters persisted to a bbolt file so a
// restart loses nothing) and Redis (go-redis UniversalClient: standalone,
// Sentinel or Cluster), which makes many gateway instances act as one.
//
// Every operation that decides something is one atomic round trip on
// Redis (a Lua script), so concurrent instances never race each other.
// Callers bound every call with a context deadline; the Redis
// implementation honours it even when the server stops answering.
package store

import (
	"context"
	"errors"
	"time"
)

// Algorithm names a rate-limit algorithm.
type Algorithm uint8

const (
	// SlidingWindow allows at most Rate requests in any Period (a sliding
	// window counter: the previous window's count weighted by its overlap
	// plus the current window's). "100 per 10s" means what users expect.
	SlidingWindow Algorithm = iota
	// GCRA (generic cell rate, a token bucket without a refill timer)
	// admits Rate per Period on average with bursts of up to Burst.
	GCRA
)

// Limit is one rate limit.
type Limit struct {
	Algorithm Algorithm
	Rate      int64
	Period    time.Duration
	// Burst is the GCRA bucket size (≥ 1); SlidingWindow ignores it.
	Burst int64
}

// RateResult is one rate-limit decision, with what the RateLimit-* and
// Retry-After headers need.
type RateResult struct {
	Allowed bool
	// Limit is the bucket size (Burst).
	Limit int64
	// Remaining is how many more requests would be allowed right now.
	Remaining int64
	// RetryAfter is how long until a request of this cost would be
	// allowed; 0 when Allowed.
	RetryAfter time.Duration
	// ResetAfter is how long until the bucket is full again.
	ResetAfter time.Duration
}

// QuotaResult is one quota decision.
type QuotaResult struct {
	Allowed bool
	// Used is the counter after the request (unchanged when refused).
	Used int64
}

// Store is the shared-state interface.
type Store interface {
	// AllowN decides whether n requests under key fit limit l, with
	// l.Algorithm. A refused request consumes nothing; n = 0 reports the
	// state without changing it. A cost above Burst (GCRA) or Rate
	// (SlidingWindow) is always refused, with RetryAfter one period.
	// An unusable Limit or a negative n fails with ErrInvalidArgument.
	AllowN(ctx context.Context, key string, l Limit, n int64) (RateResult, error)
	// Consume adds n to the counter at key if the result stays ≤ max; the
	// counter expires at expireAt (set when the counter is created; the
	// zero time never expires). A refused request consumes nothing.
	Consume(ctx context.Context, key string, n, max int64, expireAt time.Time) (QuotaResult, error)
	// Counter reads a counter (0 when absent).
	Counter(ctx context.Context, key string) (int64, error)
	// DeleteCounter deletes a counter (a quota reset); absent is no error.
	DeleteCounter(ctx context.Context, key string) error
	// Get, Set and Delete hold opaque values with a TTL (cached
	// responses); ttl ≤ 0 means no expiry. Delete removes values only.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
	// DeletePrefix deletes every key (counters, values and rate-limit
	// state) starting with prefix and returns how many it deleted.
	// Glob characters in prefix are literal.
	DeletePrefix(ctx context.Context, prefix string) (int, error)
	// Close releases the store (and, for Memory, persists its counters).
	Close() error
}

// ErrUnavailable wraps errors of a store that cannot answer (Redis down,
// deadline exceeded), as opposed to a bad request.
var ErrUnavailable = errors.New("store unavailable")
