package balancer

import (
	"math/bits"
	"math/rand/v2"
	"net/http"
)

// leastRequestScanMax is the largest pool LeastRequest scans in full. Up to
// here a scan (one atomic load per target, no shared writes) costs about as
// much as two random draws and gives the exact answer: fewest in flight,
// random among ties, which is what HAProxy's leastconn users expect. Beyond
// it the scan grows linearly and touches cache lines every other core is
// writing, so larger pools use Envoy's power of two choices: the better of
// two weighted random candidates, which comes within a small constant of the
// best (Mitzenmacher) and avoids sending every concurrent pick to the one
// target that looks least loaded.
const leastRequestScanMax = 16

// LeastRequest sends each request to the target with the fewest requests in
// flight relative to its weight (InFlight/Weight), breaking ties at random
// in proportion to weight. At low concurrency nearly every pick is a tie at
// zero, so the weights decide the shares; under load the in-flight counts
// do, and a target with twice the weight carries twice the requests.
type LeastRequest struct {
	targets []*Target
	sampler weightedSampler // used only above leastRequestScanMax
	slow    slowStart
}

// NewLeastRequest returns a least-request balancer over targets.
func NewLeastRequest(targets []*Target) *LeastRequest {
	b := &LeastRequest{targets: targets}
	if len(targets) > leastRequestScanMax {
		b.sampler = newWeightedSampler(targets)
	}
	return b
}

// Pick implements Balancer.
// With slow start, load is in flight per unit of effective weight, so a
// ramping target is held to a fraction of its share of the load.
func (b *LeastRequest) Pick(_ *http.Request, skip *Target) *Target {
	var clk rampClock
	if len(b.targets) > leastRequestScanMax {
		if t := b.pickTwo(skip, &clk); t != nil {
			return t
		}
	}
	return b.scan(skip, &clk)
}

// inflight reads t's in-flight count, clamped at zero so that an unpaired
// End elsewhere cannot make a target look better than idle.
func inflight(t *Target) int64 { return max(t.inflight.Load(), 0) }

// lessLoaded compares the load per unit of weight of a (with in-flight
// count ia ≥ 0) and b (ib ≥ 0), ia/a.Weight against ib/b.Weight: -1, 0 or
// 1. It cross-multiplies, in 128 bits so no weight can overflow it, so
// that equal ratios tie exactly.
func lessLoaded(a *Target, ia int64, b *Target, ib int64) int {
	return lessLoadedW(ia, uint64(a.Weight), ib, uint64(b.Weight))
}

// lessLoadedW is lessLoaded on explicit (effective) weights wa and wb.
func lessLoadedW(ia int64, wa uint64, ib int64, wb uint64) int {
	lh, ll := bits.Mul64(uint64(ia), wb)
	rh, rl := bits.Mul64(uint64(ib), wa)
	switch {
	case lh < rh || lh == rh && ll < rl:
		return -1
	case lh > rh || lh == rh && ll > rl:
		return 1
	}
	return 0
}

// scan is the exact pick: one pass keeping the least loaded, with weighted
// reservoir sampling among ties (a tie replaces the incumbent with
// probability weight/total tied weight so far).
func (b *LeastRequest) scan(skip *Target, clk *rampClock) *Target {
	var best *Target
	var bestIn int64
	var bestW, tied uint64
	var rng uint64 // seeded on the first tie: idle pools tie on every target
	for _, t := range b.targets {
		if t == skip || !t.Available() {
			continue
		}
		in, w := inflight(t), b.slow.effWeight(t, clk)
		c := -1
		if best != nil {
			c = lessLoadedW(in, w, bestIn, bestW)
		}
		switch c {
		case -1:
			best, bestIn, bestW, tied = t, in, w, w
		case 0:
			tied += w
			if rng == 0 {
				rng = rand.Uint64() | 1
			}
			if wyrandN(&rng, tied) < w {
				best, bestIn, bestW = t, in, w
			}
		}
	}
	return best
}

// pickTwo is power of two choices over weighted random candidates; on a tie
// the first candidate wins, and it was drawn by weight, so idle pools still
// split traffic by weight. It returns nil if it cannot find two available
// candidates quickly; the caller then scans.
func (b *LeastRequest) pickTwo(skip *Target, clk *rampClock) *Target {
	first := b.sampler.pick(skip)
	if first == nil {
		return nil
	}
	for range randomDraws {
		second := b.sampler.draw()
		if second == first || second == skip || !second.Available() || !b.slow.accept(second, clk) {
			continue
		}
		if lessLoadedW(inflight(second), b.slow.effWeight(second, clk), inflight(first), b.slow.effWeight(first, clk)) < 0 {
			return second
		}
		return first
	}
	return nil
}

// wyrandN returns a pseudo-random number in [0, n) from the wyrand
// generator state *s. A pick that breaks several ties seeds it once from
// math/rand/v2 rather than paying for a fresh random number per tie; the
// modulo bias of the multiply-shift is at most n/2^64.
func wyrandN(s *uint64, n uint64) uint64 {
	*s += 0xa0761d6478bd642f
	hi, lo := bits.Mul64(*s, *s^0xe7037ed1a0b428db)
	hi, _ = bits.Mul64(hi^lo, n)
	return hi
}
