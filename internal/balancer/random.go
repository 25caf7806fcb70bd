package balancer

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"net/http"
)

// Random picks a target at random in proportion to its weight. It keeps no
// shared mutable state, so unlike the round robins it costs the same on any
// number of cores; the price is that shares are exact only on average.
type Random struct {
	s weightedSampler
}

// NewRandom returns a weighted random balancer over targets.
func NewRandom(targets []*Target) *Random {
	return &Random{s: newWeightedSampler(targets)}
}

// Pick implements Balancer.
func (b *Random) Pick(_ *http.Request, skip *Target) *Target {
	return b.s.pick(skip)
}

// randomDraws is how many weighted draws pick tries before it scans. Each
// draw hits an available target with probability equal to the available
// share of the weight, so with a quarter of the weight out three draws fail
// together only 1.6% of the time; the scan then keeps the rare case exact.
const randomDraws = 3

// weightedSampler draws targets in proportion to their weights from prefix
// sums built once per target list, so a draw is one random number and a
// binary search. Random and the large-pool path of LeastRequest share it.
type weightedSampler struct {
	targets []*Target
	// cum[i] is the sum of the weights of targets[0..i], padded to a power
	// of two length with MaxUint64 so that draw's search has a fixed shape.
	cum   []uint64
	total uint64
	// slow is the slow-start ramp: draws stay by static weight (the sums
	// cannot follow ramps) and a ramping target is accepted with
	// probability equal to its ramp factor.
	slow slowStart
}

func newWeightedSampler(targets []*Target) weightedSampler {
	size := 1
	for size < len(targets) {
		size <<= 1
	}
	s := weightedSampler{targets: targets, cum: make([]uint64, size)}
	for i, t := range targets {
		// Weight is fixed for a Target's lifetime (Pool.Update swaps in a
		// new Target when it changes), so the sums never go stale.
		s.total += uint64(max(t.Weight, 0))
		s.cum[i] = s.total
	}
	for i := len(targets); i < size; i++ {
		s.cum[i] = math.MaxUint64
	}
	return s
}

// draw returns a target with probability weight/total, regardless of its
// availability. total must be > 0.
func (s *weightedSampler) draw() *Target {
	x := rand.Uint64N(s.total)
	// Branch-free binary search for the first sum above x: the outcome of
	// each step is a coin toss, so a branching search mispredicts about
	// half its steps, which cost more than the rest of the pick (and the
	// compiler does not turn the if into a CMOV). The subtraction's borrow
	// is 1 when x < cum[j], so the step is added exactly when cum[j] ≤ x.
	cum := s.cum
	i := uint64(0)
	for step := uint64(len(cum)) >> 1; step > 0; step >>= 1 {
		_, borrow := bits.Sub64(x, cum[i+step-1], 0)
		i += step & (borrow - 1)
	}
	return s.targets[i]
}

// pick returns an available target other than skip with probability
// proportional to its weight among those, or nil. Redrawing on a miss is
// rejection sampling: the accepted draw is distributed exactly by weight
// over the available targets, so an unavailable target's share is spread
// over the others by weight rather than handed to a neighbour.
func (s *weightedSampler) pick(skip *Target) *Target {
	if s.total == 0 {
		return nil
	}
	var clk rampClock
	for range randomDraws {
		if t := s.draw(); t != skip && t.Available() && s.slow.accept(t, &clk) {
			return t
		}
	}
	return s.scan(skip, &clk)
}

// effWeight is t's weight as the samplers compare it: scaled by its ramp
// when slow start is on.
func (s slowStart) effWeight(t *Target, clk *rampClock) uint64 {
	if s.on() {
		return s.weight(t, clk)
	}
	return uint64(t.Weight)
}

// scan is pick's exact fallback: one pass for the available weight, one
// draw within it. Two passes read availability twice; a target that
// changes state in between at worst makes the second pass fall through to
// the last available target seen, which is still a valid pick.
func (s *weightedSampler) scan(skip *Target, clk *rampClock) *Target {
	var total uint64
	for _, t := range s.targets {
		if t != skip && t.Available() {
			total += s.slow.effWeight(t, clk)
		}
	}
	if total == 0 {
		return nil
	}
	x := rand.Uint64N(total)
	var last *Target
	for _, t := range s.targets {
		if t == skip || !t.Available() {
			continue
		}
		last = t
		if w := s.slow.effWeight(t, clk); x < w {
			return t
		} else {
			x -= w
		}
	}
	return last
}
