package balancer

import (
	"math/rand/v2"
	"net/http"
)

// P2CEWMA is Finagle's and linkerd's latency-aware balancer: draw two
// available targets at random and send the request to the cheaper, where
//
//	cost = latency estimate × (in-flight + 1) / weight
//
// and the latency estimate is the target's peak EWMA of the latencies the
// proxy reports through Target.Observe. Comparing two random targets rather
// than all of them keeps each pick O(1) and stops concurrent picks from
// herding onto the single cheapest target, while still steering most
// traffic away from slow or busy ones.
//
// A target with no estimate yet costs nothing while idle, so it is probed
// at once, and is left alone while its probe is in flight, so it is not
// flooded before its first response says how fast it is.
type P2CEWMA struct {
	targets []*Target
	now     func() uint32 // the estimate clock; tests substitute their own
	slow    slowStart
}

// NewP2CEWMA returns a power-of-two-choices balancer over targets, steered
// by each target's Observe'd latencies.
func NewP2CEWMA(targets []*Target) *P2CEWMA {
	return &P2CEWMA{targets: targets, now: ewmaRecent}
}

// cost is the load of t at tick now; lower is better. With slow start the
// weight is the effective one, so a ramping target looks proportionally
// dearer; an idle target with no estimate still costs nothing, so a new
// target is probed at once, one request at a time, ramp or not.
func (b *P2CEWMA) cost(t *Target, now uint32, clk *rampClock) float64 {
	in := inflight(t)
	est, ok := t.latency.at(now)
	if !ok {
		if in > 0 {
			return unprobedCost
		}
		return 0
	}
	w := float64(t.Weight)
	if b.slow.on() {
		w = float64(b.slow.weight(t, clk)) / rampScale
	}
	return est * float64(in+1) / w
}

// Pick implements Balancer.
func (b *P2CEWMA) Pick(_ *http.Request, skip *Target) *Target {
	n := uint64(len(b.targets))
	if n < 2 {
		for _, t := range b.targets {
			if t != skip && t.Available() {
				return t
			}
		}
		return nil
	}
	// Draw candidates until both are usable; a miss redraws only the
	// unusable one, so a pick is still a comparison of two live targets
	// rather than a walkover for the partner of a down one.
	var first, second *Target
	for range 2 * randomDraws {
		// One random word gives both indices (Lemire's multiply-shift);
		// the second is drawn among the n-1 others so they are distinct.
		x := rand.Uint64()
		if first == nil {
			t := b.targets[(x>>32)*n>>32]
			if t == skip || !t.Available() {
				continue
			}
			first = t
		}
		t := b.targets[(x&0xffffffff)*(n-1)>>32]
		if t == first {
			// Index mapping of "the n-1 others": first's slot stands for
			// the last target.
			t = b.targets[n-1]
		}
		if t != skip && t.Available() {
			second = t
			break
		}
	}
	var clk rampClock
	if second == nil {
		return b.scan(skip, &clk)
	}
	now := b.now()
	// Ties go to first, itself a random choice.
	if b.cost(second, now, &clk) < b.cost(first, now, &clk) {
		return second
	}
	return first
}

// scan is Pick's fallback when random draws keep missing (most targets
// unavailable): the cheapest available target, found in one pass.
func (b *P2CEWMA) scan(skip *Target, clk *rampClock) *Target {
	now := b.now()
	var best *Target
	var bestCost float64
	for _, t := range b.targets {
		if t == skip || !t.Available() {
			continue
		}
		if c := b.cost(t, now, clk); best == nil || c < bestCost {
			best, bestCost = t, c
		}
	}
	return best
}
