package balancer

import (
	"math"
	"sync/atomic"
	"time"
)

// The latency estimate behind p2c_ewma is a "peak EWMA" in the style of
// Finagle and linkerd: an exponentially weighted moving average whose
// weights decay with time rather than with sample count, so a target's
// estimate reflects the last few seconds whatever its request rate, and
// which jumps straight to any sample above it so a target that turns slow
// is avoided at once rather than after many slow responses.

const (
	// ewmaDecay is τ: a sample observed τ ago weighs e^-1 of one observed
	// now. Ten seconds is the Finagle and linkerd default: long enough to
	// smooth per-request noise, short enough to follow a real change.
	ewmaDecay = 10 * time.Second

	// ewmaTickShift sets the clock resolution of the estimate: 2^15 ns
	// (≈33µs) ticks. The timestamp shares one 64-bit word with the value so
	// that an update is a single CAS; 32 bits of such ticks wrap after ≈39
	// hours, which only matters for a target idle for that long (see
	// ticksSince).
	ewmaTickShift = 15

	// ewmaLateTicks is how far (≈34s) a timestamp may run ahead of the
	// clock reading another goroutine took a moment earlier and still be
	// treated as "no time passed" rather than as a wrapped clock.
	ewmaLateTicks = 1 << 20

	// failurePenalty is the latency a failed attempt counts as, at least:
	// a backend that fails fast (connection refused, instant 5xx) must not
	// look like the fastest one. One second is far above a healthy API
	// call yet bounded, so a recovered target is trusted again within a
	// few τ. Pools whose healthy latency approaches a second should rely
	// on health checks and outlier detection to eject failing targets.
	failurePenalty = time.Second

	// unprobedCost is the cost of a target with no estimate yet that
	// already has a request in flight: such a target is probed one request
	// at a time until its first response says how fast it is (Finagle's
	// rule), instead of being flooded while it looks free.
	unprobedCost = math.MaxFloat64 / 4
)

// ewmaEpoch anchors the estimate's clock; time.Since on it reads the
// monotonic clock, so wall-clock jumps do not disturb the decay.
var ewmaEpoch = time.Now()

// ewmaNow reads the clock in estimate ticks, and publishes the reading
// for ewmaRecent.
func ewmaNow() uint32 {
	now := uint32(time.Since(ewmaEpoch) >> ewmaTickShift)
	// Store only on a new tick, so that busy cores do not keep stealing
	// the cache line that every Pick reads.
	if ewmaClock.Load() != now {
		ewmaClock.Store(now)
	}
	return now
}

// ewmaClock is the latest tick ewmaNow read.
var ewmaClock atomic.Uint32

// ewmaRecent is the tick of the latest Observe anywhere in the process,
// which p2c_ewma uses instead of reading the clock: a clock read costs
// 25-60ns on virtual machines, more than the rest of a pick. Under traffic
// responses complete continuously, so it trails real time by microseconds;
// after an idle spell the first picks see estimates decayed a little less
// than they should be until the first response lands, which only delays a
// re-probe by that long.
func ewmaRecent() uint32 { return ewmaClock.Load() }

// ewma is a lock-free peak-EWMA latency estimate. The word holds the
// estimate in nanoseconds as float32 bits (high half) and the tick of the
// last update (low half); zero means no sample yet. float32 keeps 24 bits of
// mantissa, ample for a latency.
type ewma struct{ bits atomic.Uint64 }

func packEWMA(ns float64, tick uint32) uint64 {
	return uint64(math.Float32bits(float32(ns)))<<32 | uint64(tick)
}

func unpackEWMA(b uint64) (ns float64, tick uint32) {
	return float64(math.Float32frombits(uint32(b >> 32))), uint32(b)
}

// ticksSince is now-then in ticks. A reading slightly older than then
// (another goroutine stored a newer tick between our clock read and our
// load) counts as no time passed; anything else is taken modulo 2^32, so
// only a target idle for a whole wrap (≈39h) could see a wrong, shorter
// delay.
func ticksSince(now, then uint32) uint32 {
	d := now - then
	if d > math.MaxUint32-ewmaLateTicks {
		return 0
	}
	return d
}

// decayWeight is e^(-Δt/τ): the weight the old estimate keeps after d ticks.
func decayWeight(d uint32) float64 {
	if d == 0 {
		return 1
	}
	return math.Exp(-float64(uint64(d)<<ewmaTickShift) / float64(ewmaDecay))
}

// observe folds a sample (ns) taken at tick now into the estimate.
func (e *ewma) observe(now uint32, sample float64) {
	// Stay ≥ 1ns so a stored estimate is never the zero word that means
	// "no sample yet".
	sample = max(sample, 1)
	for {
		old := e.bits.Load()
		next, stamp := sample, now
		if old != 0 {
			v, then := unpackEWMA(old)
			d := ticksSince(now, then)
			if d == 0 {
				// Never move the timestamp backwards: the next update
				// would decay the estimate twice over the same interval.
				stamp = then
			}
			if sample <= v {
				w := decayWeight(d)
				next = v*w + sample*(1-w)
			}
		}
		if e.bits.CompareAndSwap(old, packEWMA(next, stamp)) {
			return
		}
	}
}

// at returns the estimate (ns) as of tick now, and false when there is no
// sample yet. Between samples the estimate decays toward zero, as if a
// zero-latency response had been seen; Finagle and linkerd get the same
// effect by observing 0 on every read. Without it a target that lost every
// comparison because it was once slow would never be tried again, and never
// show that it recovered: after about τ·ln(cost ratio) it wins a comparison
// and a real response refreshes its estimate.
func (e *ewma) at(now uint32) (float64, bool) {
	b := e.bits.Load()
	if b == 0 {
		return 0, false
	}
	v, then := unpackEWMA(b)
	return v * decayWeight(ticksSince(now, then)), true
}
