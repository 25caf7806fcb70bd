package store

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// ErrInvalidArgument wraps errors for calls that can never succeed as
// made (a Limit with no rate, a negative cost): a bug or bad config, not
// an outage, so callers must not treat it like ErrUnavailable.
var ErrInvalidArgument = errors.New("store: invalid argument")

// tick is the clock resolution both implementations decide in. Redis
// scripts only have doubles, which hold Unix time exactly in
// microseconds but not in nanoseconds, so Memory uses the same emission
// interval (truncated to a microsecond) to make both agree.
const tick = time.Microsecond

// maxSpan bounds Burst×emission interval and Period so that clock
// arithmetic in nanoseconds cannot overflow (2^61 ns ≈ 73 years).
const maxSpan = 1 << 61

// maxCount bounds rates, bursts, costs and quotas: Lua numbers are
// doubles, exact for integers up to 2^53, and Go float arithmetic on
// sliding window counts stays exact below it too.
const maxCount = 1 << 53

// checkLimit validates l and the cost n before any state is touched.
func checkLimit(l Limit, n int64) error {
	if n < 0 || n > maxCount {
		return fmt.Errorf("%w: cost %d, want between 0 and 2^53", ErrInvalidArgument, n)
	}
	if l.Rate < 1 || l.Rate > maxCount {
		return fmt.Errorf("%w: rate %d, want between 1 and 2^53", ErrInvalidArgument, l.Rate)
	}
	if l.Period < tick || l.Period > maxSpan {
		return fmt.Errorf("%w: period %v, want between 1µs and 73 years", ErrInvalidArgument, l.Period)
	}
	switch l.Algorithm {
	case SlidingWindow:
		return nil
	case GCRA:
		if l.Burst < 1 || l.Burst > maxCount {
			return fmt.Errorf("%w: burst %d, want between 1 and 2^53", ErrInvalidArgument, l.Burst)
		}
		t := emission(l)
		if t < tick {
			return fmt.Errorf("%w: %d per %v is more than one request per µs", ErrInvalidArgument, l.Rate, l.Period)
		}
		if l.Burst > maxSpan/int64(t) {
			return fmt.Errorf("%w: burst %d × %v does not fit the clock", ErrInvalidArgument, l.Burst, t)
		}
		return nil
	default:
		return fmt.Errorf("%w: unknown algorithm %d", ErrInvalidArgument, l.Algorithm)
	}
}

// emission is the GCRA emission interval (the time one request "costs"),
// truncated to the common tick.
func emission(l Limit) time.Duration {
	return (l.Period / time.Duration(l.Rate)).Truncate(tick)
}

// gcraResult builds the result of a GCRA decision. All times are in
// units of unit: now is the decision time, tat the bucket's theoretical
// arrival time after the decision (the new one when allowed, the
// unchanged one when refused), t the emission interval.
func gcraResult(allowed bool, now, tat, t, burst, n int64, unit time.Duration) RateResult {
	tat = max(tat, now)
	r := RateResult{Allowed: allowed, Limit: burst}
	r.ResetAfter = time.Duration(tat-now) * unit
	// Room left in the bucket, in whole requests of cost 1.
	r.Remaining = min(max((now+t*burst-tat)/t, 0), burst)
	if !allowed {
		if n > burst {
			// Never fits. Still say "later", not "now" (0 means
			// allowed): the time a full bucket takes to drain.
			r.RetryAfter = time.Duration(t*burst) * unit
		} else {
			r.RetryAfter = time.Duration(max(tat+n*t-t*burst-now, 1)) * unit
		}
	}
	return r
}

// slidingEstimate is the sliding window count: the previous window's
// count weighted by how much of it still overlaps the sliding period,
// plus the current one. The Lua script computes the same expression in
// the same order so both sides round alike.
func slidingEstimate(prev, cur, elapsed, period int64) float64 {
	return float64(prev)*float64(period-elapsed)/float64(period) + float64(cur)
}

// slidingResult builds the result of a sliding window decision; prev and
// cur are the window counts after the decision, elapsed how far into
// the current window now is, all in units of unit.
func slidingResult(allowed bool, rate, n, prev, cur, elapsed, period int64, unit time.Duration) RateResult {
	r := RateResult{Allowed: allowed, Limit: rate}
	est := slidingEstimate(prev, cur, elapsed, period)
	r.Remaining = min(max(int64(math.Floor(float64(rate)-est)), 0), rate)
	switch {
	case cur > 0:
		r.ResetAfter = time.Duration(2*period-elapsed) * unit
	case prev > 0:
		r.ResetAfter = time.Duration(period-elapsed) * unit
	}
	if allowed {
		return r
	}
	var wait int64
	switch {
	case n > rate:
		// Never fits. Still say "later", not "now" (0 means
		// allowed): a period.
		wait = period
	case cur+n <= rate:
		// Fits in this window once enough of prev has slid out:
		// prev×(period−e)/period ≤ rate−cur−n. prev > 0 here, or it
		// would have been allowed.
		room := float64(rate - cur - n)
		need := period - int64(math.Floor(room*float64(period)/float64(max(prev, 1))))
		wait = need - elapsed + 1
	default:
		// Only fits in the next window, where cur becomes prev:
		// cur×(period−e)/period + n ≤ rate.
		room := float64(rate - n)
		need := period - int64(math.Floor(room*float64(period)/float64(max(cur, 1))))
		wait = period - elapsed + need + 1
	}
	r.RetryAfter = time.Duration(max(wait, 1)) * unit
	return r
}
