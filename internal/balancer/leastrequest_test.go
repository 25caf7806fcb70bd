package balancer

import (
	"testing"
)

func setInFlight(ts []*Target, counts ...int64) {
	for i, c := range counts {
		ts[i].inflight.Store(c)
	}
}

func TestLeastRequestPrefersLeastLoaded(t *testing.T) {
	ts := targets(1, 1, 1)
	b := NewLeastRequest(ts)
	setInFlight(ts, 3, 1, 2)
	if got := sequence(b, ts, 5); got != "bbbbb" {
		t.Fatalf("got %s, want the target with 1 in flight", got)
	}
	if got := b.Pick(nil, ts[1]); got != ts[2] {
		t.Fatalf("with b skipped got %v, want c (2 in flight)", got)
	}
	ts[1].Begin()
	ts[1].Begin() // b: 3, c: 2
	if got := b.Pick(nil, nil); got != ts[2] {
		t.Fatalf("got %v after Begin, want c", got)
	}
}

func TestLeastRequestTiesSpread(t *testing.T) {
	ts := targets(1, 1, 1, 1)
	checkShares(t, pickCounts(NewLeastRequest(ts), ts, nil, 10000), []float64{1, 1, 1, 1}, 10000)
	setInFlight(ts, 2, 1, 5, 1)
	checkShares(t, pickCounts(NewLeastRequest(ts), ts, nil, 10000), []float64{0, 1, 0, 1}, 10000)
}

// Load is in-flight per unit of weight, and ties split by weight: an idle
// pool follows the weights; a loaded one gives a heavier target more
// requests in flight.
func TestLeastRequestWeights(t *testing.T) {
	ts := targets(3, 1)
	checkShares(t, pickCounts(NewLeastRequest(ts), ts, nil, 10000), []float64{3, 1}, 10000)

	ts = targets(2, 1, 1)
	setInFlight(ts, 2, 1, 2) // ratios 1, 1, 2
	checkShares(t, pickCounts(NewLeastRequest(ts), ts, nil, 10000), []float64{2, 1, 0}, 10000)
	setInFlight(ts, 3, 2, 2) // ratios 1.5, 2, 2: a, despite most in flight
	if got := sequence(NewLeastRequest(ts), ts, 5); got != "aaaaa" {
		t.Fatalf("got %s, want a (least load per weight)", got)
	}
}

func TestLeastRequestIgnoresNegativeInFlight(t *testing.T) {
	ts := targets(1, 1)
	setInFlight(ts, -5, 0) // an unpaired End must not make a look better than idle
	checkShares(t, pickCounts(NewLeastRequest(ts), ts, nil, 4000), []float64{1, 1}, 4000)
}

func TestLeastRequestUnavailable(t *testing.T) {
	ts := targets(1, 1, 1)
	checkUnavailable(t, NewLeastRequest(ts), ts)
	big := targets(make([]int, 40)...)
	for _, x := range big {
		x.Weight = 1
	}
	checkUnavailable(t, NewLeastRequest(big), big)
	if NewLeastRequest(nil).Pick(nil, nil) != nil {
		t.Fatal("picked from an empty pool")
	}
}

// Above leastRequestScanMax the pick is the better of two weighted random
// candidates.
func TestLeastRequestLargePoolPowerOfTwo(t *testing.T) {
	const n = 32
	ws := make([]int, n)
	weights := make([]float64, n)
	for i := range ws {
		ws[i] = 1 + 2*(i%2) // alternating weights 1 and 3
		weights[i] = float64(ws[i])
	}
	ts := targets(ws...)
	b := NewLeastRequest(ts)
	// Idle: every pair ties, the first (weighted) candidate wins.
	checkShares(t, pickCounts(b, ts, nil, 20000), weights, 20000)

	// The most loaded target loses every comparison it takes part in.
	for i := range ts {
		ts[i].inflight.Store(int64(ws[i])) // load ratio 1 everywhere
	}
	ts[7].inflight.Store(100)
	if c := pickCounts(b, ts, nil, 10000); c[7] != 0 {
		t.Fatalf("most loaded target picked %d times", c[7])
	}

	// Half loaded (equal weights): a loaded target wins only when both
	// candidates are loaded, p = 16/32 × 15/31.
	ts = targets(make([]int, n)...)
	for i, x := range ts {
		x.Weight = 1
		if i < n/2 {
			x.inflight.Store(1)
		}
	}
	b = NewLeastRequest(ts)
	c := pickCounts(b, ts, nil, 10000)
	loaded := 0
	for _, k := range c[:n/2] {
		loaded += k
	}
	p := 16.0 / 32 * 15 / 31
	checkShares(t, []int{loaded, 10000 - loaded}, []float64{p, 1 - p}, 10000)
}

// When one target holds nearly all the weight, the second candidate keeps
// coming out equal to the first; the pick must then scan rather than send
// everything to that target however loaded it is.
func TestLeastRequestLargePoolDominantWeight(t *testing.T) {
	ws := make([]int, 20)
	for i := range ws {
		ws[i] = 1
	}
	ws[0] = 1 << 30
	ts := targets(ws...)
	ts[0].inflight.Store(1 << 40) // load ratio 1024 vs 0 elsewhere
	b := NewLeastRequest(ts)
	if c := pickCounts(b, ts, nil, 1000); c[0] != 0 {
		t.Fatalf("dominant but overloaded target picked %d of 1000 times", c[0])
	}
}

func TestLessLoadedHugeWeights(t *testing.T) {
	ts := targets(1<<40, 1)
	// 2^50/2^40 = 1024 < 2^30/1, though 2^30 × 2^40 overflows 64 bits.
	if got := lessLoaded(ts[0], 1<<50, ts[1], 1<<30); got != -1 {
		t.Fatalf("lessLoaded = %d, want -1", got)
	}
	if got := lessLoaded(ts[1], 1<<30, ts[0], 1<<50); got != 1 {
		t.Fatalf("lessLoaded = %d, want 1", got)
	}
	if got := lessLoaded(ts[0], 1<<41, ts[1], 2); got != 0 {
		t.Fatalf("lessLoaded = %d, want 0 (equal ratios)", got)
	}
}
