package balancer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Slow start (Envoy's slow_start_config, HAProxy's "slowstart"): a target
// that becomes available — added by a reload to a pool that already had
// targets, or back from down (a failed health check, an outlier ejection) —
// does not get its full share at once. Its effective weight ramps from
// about 10% to 100% of its weight over Options.SlowStart:
//
//	factor = max(10%, (time since available / window) ^ (1 / aggression))
//
// so a cold JIT, an empty cache or a connection pool still filling is not
// hit by a full share of traffic the moment it comes back, and a target
// that is only just healthy again is not knocked over by the backlog.
//
// weighted_round_robin, random and least_request scale their weights by
// the factor; p2c_ewma divides its cost by it; round_robin, which has no
// weights, skips a ramping target's turn with probability 1 - factor. hash
// is exempt: its table is fixed per target list, and moving keys off a
// returning target for the window only to move them back would break the
// affinity that is the point of hashing (its keyless fallback ramps).
//
// The cost when no target is ramping is one atomic load per target looked
// at; the clock is read at most once per Pick, and only when a target under
// consideration is ramping. When Options.SlowStart is 0 nothing is read.

// timeNow, when set, replaces the clock slow start and sticky cookie
// expiry read: tests set a simulated one. nil means the real clock.
var timeNow func() time.Time

// rampEpoch anchors ramp stamps and the sticky expiry clock.
var rampEpoch = time.Now()

// sinceEpoch is the time elapsed since rampEpoch. On the real clock it is
// time.Since, which reads only the monotonic clock: a third of the cost of
// time.Now (≈35ns against ≈105ns on a kvm-clock VM), and immune to steps of
// the wall clock, which would otherwise cut ramps short or stretch them.
func sinceEpoch() time.Duration {
	if timeNow != nil {
		return timeNow().Sub(rampEpoch)
	}
	return time.Since(rampEpoch)
}

// unixNow is the current Unix time in seconds for cookie expiry, derived
// from the monotonic clock (see sinceEpoch). It may differ from the wall
// clock by steps the wall clock took since the process started; for expiry
// of cookies this process (or one with a similar clock) issued, seconds
// of difference do not matter.
func unixNow() int64 {
	return rampEpoch.Add(sinceEpoch()).Unix()
}

// rampStamp is the current time as stored in Target.availableSince:
// nanoseconds since rampEpoch, never 0, which means "not ramping".
func rampStamp() int64 {
	d := int64(sinceEpoch())
	if d == 0 {
		d = 1
	}
	return d
}

const (
	// rampScale is the fixed-point unit of a ramp factor, so that integer
	// weights of 1 can still be given 10% of a share.
	rampScale = 1024
	// rampMinFactor is the floor of the ramp, ≈10% (Envoy's default
	// min_weight_percent): a ramping target gets some traffic at once, so
	// it warms up at all.
	rampMinFactor = rampScale / 10
	// rampMaxWeight caps weights before scaling by rampScale, so that the
	// sums weighted_round_robin and the samplers keep cannot overflow. No
	// sane configuration comes near it.
	rampMaxWeight = 1 << 40
)

// slowStart is the ramp configuration an algorithm holds; the zero value
// is "off".
type slowStart struct {
	window  int64   // ns; 0 = off
	invAggr float64 // 1/aggression: 1 is linear, < 1 ramps late, > 1 early
}

// newSlowStart validates the slow-start options.
func newSlowStart(o Options) (slowStart, error) {
	if o.SlowStart < 0 {
		return slowStart{}, fmt.Errorf("slow_start %v is negative; use 0 to turn slow start off", o.SlowStart)
	}
	a := o.SlowStartAggression
	if a < 0 || math.IsNaN(a) || math.IsInf(a, 0) {
		return slowStart{}, fmt.Errorf("slow_start_aggression %v must be a positive number (1 = linear; 0 means 1)", a)
	}
	if a == 0 {
		a = 1
	}
	return slowStart{window: int64(o.SlowStart), invAggr: 1 / a}, nil
}

func (s slowStart) on() bool { return s.window > 0 }

// rampClock reads the clock at most once per Pick, and only if asked.
type rampClock struct {
	now  int64
	read bool
}

func (c *rampClock) stamp() int64 {
	if !c.read {
		c.now, c.read = rampStamp(), true
	}
	return c.now
}

// prime reads the clock into c if any of ts is ramping, so that an
// algorithm that holds a lock while it weighs targets does not read the
// clock under it.
func (s slowStart) prime(ts []*Target, c *rampClock) {
	if !s.on() {
		return
	}
	for _, t := range ts {
		if t.availableSince.Load() != 0 {
			c.stamp()
			return
		}
	}
}

// factor is t's current share of its weight in 1/rampScale units. A target
// whose ramp is over has its stamp cleared, so it costs no clock read again
// until it next becomes available; the CAS loses harmlessly to a newer
// stamp set meanwhile.
func (s slowStart) factor(t *Target, clk *rampClock) uint64 {
	since := t.availableSince.Load()
	if since == 0 {
		return rampScale
	}
	elapsed := clk.stamp() - since
	if elapsed >= s.window {
		t.availableSince.CompareAndSwap(since, 0)
		return rampScale
	}
	return rampFactor(elapsed, s.window, s.invAggr)
}

// rampFactor is the ramp at elapsed ns into a window of window ns
// (elapsed < window), in 1/rampScale units.
func rampFactor(elapsed, window int64, invAggr float64) uint64 {
	if elapsed <= 0 {
		return rampMinFactor
	}
	x := float64(elapsed) / float64(window)
	if invAggr != 1 {
		x = math.Pow(x, invAggr)
	}
	return min(max(uint64(x*rampScale), rampMinFactor), rampScale)
}

// weight is t's effective weight in 1/rampScale units of weight. Only call
// it when s.on(): with slow start on every target's weight is scaled, so
// shares between ramping and settled targets stay exact.
func (s slowStart) weight(t *Target, clk *rampClock) uint64 {
	return uint64(min(max(t.Weight, 0), rampMaxWeight)) * s.factor(t, clk)
}

// accept is rejection sampling for algorithms that draw by static weight:
// it keeps a drawn target with probability equal to its ramp factor, so
// accepted draws follow the effective weights exactly.
func (s slowStart) accept(t *Target, clk *rampClock) bool {
	if !s.on() {
		return true
	}
	f := s.factor(t, clk)
	return f == rampScale || rand.Uint64N(rampScale) < f
}

// markAvailable starts t's ramp now.
func (t *Target) markAvailable() { t.availableSince.Store(rampStamp()) }

// EffectiveWeight is t's weight as slow start scales it at now, for a ramp
// of window with aggression (0 means 1, linear): Weight once the ramp is
// over (or window is 0), else between about 10% and 100% of it. The
// balancers compute the same thing in fixed point; this is for display
// (admin API, metrics) and tests.
func (t *Target) EffectiveWeight(now time.Time, window time.Duration, aggression float64) float64 {
	w := float64(max(t.Weight, 0))
	since := t.availableSince.Load()
	if window <= 0 || since == 0 {
		return w
	}
	elapsed := int64(now.Sub(rampEpoch)) - since
	if elapsed >= int64(window) {
		return w
	}
	if aggression <= 0 {
		aggression = 1
	}
	return w * float64(rampFactor(elapsed, int64(window), 1/aggression)) / rampScale
}
