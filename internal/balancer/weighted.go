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
}

// NewWeightedRoundRobin returns a smooth weighted round-robin balancer.
func NewWeightedRoundRobin(targets []*Target) *WeightedRoundRobin {
	return &WeightedRoundRobin{targets: targets, current: make([]int, len(targets))}
}

// Pick implements Balancer. Unavailable targets (and skip) sit out the
// round, so the remaining ones share traffic in proportion to their weights.
func (b *WeightedRoundRobin) Pick(_ *http.Request, skip *Target) *Target {
	b.mu.Lock()
	defer b.mu.Unlock()
	best, total := -1, 0
	for i, t := range b.targets {
		if t == skip || !t.Available() {
			continue
		}
		b.current[i] += t.Weight
		total += t.Weight
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
