package proxy

import (
	"sync/atomic"
)

// Budget caps the retries to one upstream to a share of its live requests,
// as Envoy's and Finagle's retry budgets do: a retry may start while the
// requests in a retry are fewer than max(MinRetries, Ratio × active
// requests), rounded down. When an upstream fails wholesale, retries then
// add a fraction of load instead of multiplying it by Attempts. A request
// counts against the budget from its first retry until it ends. Share one
// Budget among every route to the upstream; it is safe for concurrent use
// and lock-free.
type Budget struct {
	ratioPPM int64 // Ratio in parts per million: integer arithmetic, no float rounding at the boundary
	min      int64
	active   atomic.Int64
	retries  atomic.Int64
}

// NewBudget returns a budget allowing ratio (e.g. 0.2) of the upstream's
// active requests to be retries, and at least minConcurrent retries
// whatever the load (so a quiet upstream can still retry).
func NewBudget(ratio float64, minConcurrent int) *Budget {
	if !(ratio > 0) { // also NaN
		ratio = 0
	}
	return &Budget{ratioPPM: int64(min(ratio, 1e6)*1e6 + 0.5), min: int64(max(minConcurrent, 0))}
}

// Active is the number of requests to the upstream in progress.
func (b *Budget) Active() int64 { return b.active.Load() }

// Retries is the number of requests in a retry.
func (b *Budget) Retries() int64 { return b.retries.Load() }

// limit is the number of concurrent retries allowed with active requests.
func (b *Budget) limit(active int64) int64 {
	return max(b.min, b.ratioPPM*active/1_000_000)
}

// tryRetry takes a retry from the budget, or reports there is none left.
func (b *Budget) tryRetry() bool {
	for {
		cur := b.retries.Load()
		if cur >= b.limit(b.active.Load()) {
			return false
		}
		if b.retries.CompareAndSwap(cur, cur+1) {
			return true
		}
	}
}

// begin counts an active request; end ends it, returning its retry if it
// held one.
func (b *Budget) begin() { b.active.Add(1) }

func (b *Budget) end(retrying *bool) {
	if *retrying {
		b.retries.Add(-1)
	}
	b.active.Add(-1)
}
