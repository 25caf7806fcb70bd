package balancer

import (
	"math"
	"testing"
)

// pickCounts makes n picks with skip and counts them per target index; a
// nil pick is counted at index len(ts).
func pickCounts(b Balancer, ts []*Target, skip *Target, n int) []int {
	counts := make([]int, len(ts)+1)
	idx := make(map[*Target]int, len(ts))
	for i, t := range ts {
		idx[t] = i
	}
	for range n {
		t := b.Pick(nil, skip)
		if t == nil {
			counts[len(ts)]++
			continue
		}
		counts[idx[t]]++
	}
	return counts
}

// checkShares asserts that counts (over n picks) match the expected
// weights. Each count is binomial(n, p); the tolerance is 5 standard
// deviations (a false failure about once in 1.7 million checks) plus one
// pick, and a weight of 0 must get exactly nothing.
func checkShares(t *testing.T, counts []int, weights []float64, n int) {
	t.Helper()
	var sum float64
	for _, w := range weights {
		sum += w
	}
	for i, w := range weights {
		p := w / sum
		want := float64(n) * p
		tol := 5*math.Sqrt(float64(n)*p*(1-p)) + 1
		if p == 0 {
			tol = 0
		}
		if math.Abs(float64(counts[i])-want) > tol {
			t.Errorf("target %d: %d picks, want %.0f ± %.0f (all: %v)", i, counts[i], want, tol, counts)
		}
	}
	if len(counts) > len(weights) && counts[len(weights)] != 0 {
		t.Errorf("%d nil picks with targets available", counts[len(weights)])
	}
}

// checkUnavailable asserts that b returns nil when no target other than skip
// is available, and never returns an unavailable target or skip.
func checkUnavailable(t *testing.T, b Balancer, ts []*Target) {
	t.Helper()
	for range 200 {
		if got := b.Pick(nil, ts[1]); got == ts[1] || (got != nil && !got.Available()) {
			t.Fatalf("picked %v: skipped or unavailable", got.Addr)
		}
	}
	for _, x := range ts {
		x.SetDown(true)
	}
	if got := b.Pick(nil, nil); got != nil {
		t.Fatalf("picked %s with every target down", got.Addr)
	}
	ts[0].SetDown(false)
	if got := b.Pick(nil, ts[0]); got != nil {
		t.Fatalf("picked %s: the only available target was skipped", got.Addr)
	}
	if got := b.Pick(nil, nil); got != ts[0] {
		t.Fatalf("picked %v, want the only available target", got)
	}
}
