package balancer

import (
	"net/http"
	"sync"
)

// WeightedRoundRobin is nginx's smooth weighted round robin: with weights
// 5,1,1 it yields a a b a c a a rather than a a a a a b c, so a heavy target
// never receives a burst. Each pick costs O(n) under a mutex, which is fine
// for the tens of targets a pool has.
type WeightedRoundRobin struct {
	mu      sync.Mutex
	targets []*Target
	current []int
	slow    slowStart
}

// NewWeightedRoundRobin returns a smooth weighted round-robin balancer.
func NewWeightedRoundRobin(targets []*Target) *WeightedRoundRobin {
	return &WeightedRoundRobin{targets: targets, current: make([]int, len(targets))}
}

// Pick implements Balancer. Unavailable targets (and skip) sit out the
// round, so the remaining ones share traffic in proportion to their weights.
// With slow start every weight is scaled by its ramp factor (in fixed
// point, which scales settled targets alike and so leaves their sequence
// unchanged); the smooth algorithm follows weights that change between
// picks without bursts.
func (b *WeightedRoundRobin) Pick(_ *http.Request, skip *Target) *Target {
	var clk rampClock
	b.slow.prime(b.targets, &clk)
	b.mu.Lock()
	defer b.mu.Unlock()
	best, total := -1, 0
	for i, t := range b.targets {
		if t == skip || !t.Available() {
			continue
		}
		w := t.Weight
		if b.slow.on() {
			w = int(b.slow.weight(t, &clk))
		}
		b.current[i] += w
		total += w
		if best < 0 || b.current[i] > b.current[best] {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	b.current[best] -= total
	return b.targets[best]
}
