package balancer

import (
	"net/http"
	"sync/atomic"
)

// RoundRobin hands requests to available targets in turn, ignoring weights.
type RoundRobin struct {
	targets []*Target
	next    atomic.Uint64
	slow    slowStart
}

// NewRoundRobin returns a round-robin balancer over targets.
func NewRoundRobin(targets []*Target) *RoundRobin {
	return &RoundRobin{targets: targets}
}

// Pick implements Balancer. An unavailable target consumes its turn rather
// than passing it to its neighbour, so the neighbour does not get a double
// share; after a full turn of misses it falls back to a scan. With slow
// start, a ramping target gives up its turn the same way with probability
// 1 - its ramp factor.
func (b *RoundRobin) Pick(_ *http.Request, skip *Target) *Target {
	n := uint64(len(b.targets))
	if n == 0 {
		return nil
	}
	var clk rampClock
	for i := uint64(0); i < n; i++ {
		t := b.targets[(b.next.Add(1)-1)%n]
		if t != skip && t.Available() && b.slow.accept(t, &clk) {
			return t
		}
	}
	for _, t := range b.targets {
		if t != skip && t.Available() {
			return t
		}
	}
	return nil
}
