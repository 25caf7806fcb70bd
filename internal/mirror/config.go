package mirror

import (
	"net/http"
	"time"
)

// Defaults for the zero values of Config and Target.
const (
	// DefaultMaxInFlight bounds the copies in flight per target of a
	// route: enough for a busy route against a mirror that answers in
	// tens of milliseconds, small enough that a stuck mirror holds little.
	DefaultMaxInFlight = 64
	// DefaultMaxBodyBytes is the largest request body mirrored (64 KiB):
	// typical JSON API bodies fit; uploads are not copied.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultTimeout bounds a copy's whole exchange when Config.Timeout is
	// zero (the gateway passes the route's timeout when it has one).
	DefaultTimeout = 30 * time.Second
	// DefaultPercent is Target.Percent when not given: every request is
	// copied (Gateway API: a RequestMirror with neither percent nor
	// fraction mirrors all requests).
	DefaultPercent = 100
)

// Config is one route's mirroring. The zero value of each bound means its
// default; a Config with no Targets mirrors nothing.
type Config struct {
	// Targets are the mirrors, each sampled and bounded on its own.
	Targets []Target
	// MaxInFlight bounds the copies in flight per target; a request that
	// finds its target full is not copied (counted Dropped). 0 means
	// DefaultMaxInFlight.
	MaxInFlight int
	// MaxBodyBytes is the largest request body copied; a larger one (by
	// its Content-Length or as it streams) is not copied at all (counted
	// Dropped). 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Timeout bounds a copy from leaving to the end of its discarded
	// response. 0 means DefaultTimeout.
	Timeout time.Duration
	// Rand returns a number in [0, 1) for percentage sampling; it must be
	// safe for concurrent use. nil means math/rand/v2's Float64. Tests
	// inject a deterministic source.
	Rand func() float64
}

// Target is one mirror of a route.
type Target struct {
	// Send sends a copy to the mirror upstream and writes its response to
	// the ResponseWriter it gets, which discards it. The gateway passes a
	// proxy handler for the upstream, so balancing, health, outlier
	// detection and the upstream's transport apply. A copy failed when
	// Send leaves reqinfo's UpstreamError set, writes no status, or panics.
	Send http.Handler
	// Percent is the share of requests copied, in (0, 100]; 0 means
	// DefaultPercent.
	Percent float64
	// Count, if set, learns the outcome of every request sampled for
	// this target. It must be cheap and safe for concurrent use.
	Count func(Result)
}

// Result is what became of one request sampled for a mirror.
type Result int

const (
	// Sent: the mirror answered (any status); the answer was discarded.
	Sent Result = iota
	// Dropped: not sent because a bound was reached (the target's copies
	// in flight, or the body buffer) or the body never completed.
	Dropped
	// Failed: sent, but no answer came (connect error, reset, timeout,
	// no available target, overload).
	Failed
)

// String is the metric label of r.
func (r Result) String() string {
	switch r {
	case Sent:
		return "sent"
	case Dropped:
		return "dropped"
	}
	return "error"
}
