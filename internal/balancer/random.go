package balancer

import (
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
	cum     []uint64 // cum[i] = sum of weights of targets[0..i]
	total   uint64
}

func newWeightedSampler(targets []*Target) weightedSampler {
	s := weightedSampler{targets: targets, cum: make([]uint64, len(targets))}
	for i, t := range targets {
		// Weight is fixed for a Target's lifetime (Pool.Update swaps in a
		// new Target when it changes), so the sums never go stale.
		s.total += uint64(max(t.Weight, 0))
		s.cum[i] = s.total
	}
	return s
}

// draw returns a target with probability weight/total, regardless of its
// availability. total must be > 0.
func (s *weightedSampler) draw() *Target {
	x := rand.Uint64N(s.total)
	lo, hi := 0, len(s.cum)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.cum[m] > x {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return s.targets[lo]
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
	for range randomDraws {
		if t := s.draw(); t != skip && t.Available() {
			return t
		}
	}
	return s.scan(skip)
}

// scan is pick's exact fallback: one pass for the available weight, one
// draw within it. Two passes read availability twice; a target that
// changes state in between at worst makes the second pass fall through to
// the last available target seen, which is still a valid pick.
func (s *weightedSampler) scan(skip *Target) *Target {
	var total uint64
	for _, t := range s.targets {
		if t != skip && t.Available() {
			total += uint64(t.Weight)
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
		if w := uint64(t.Weight); x < w {
			return t
		} else {
			x -= w
		}
	}
	return last
}
