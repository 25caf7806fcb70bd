package balancer

import "testing"

func TestRandomShares(t *testing.T) {
	ts := targets(3, 2, 0, 1)
	checkShares(t, pickCounts(NewRandom(ts), ts, nil, 10000), []float64{3, 2, 0, 1}, 10000)
}

// A down target's share must be spread over the others by weight, not
// handed to its neighbour in the prefix sums (the bias of "take the next
// available slot").
func TestRandomUnavailableSpreadsByWeight(t *testing.T) {
	ts := targets(1, 4, 2, 3)
	b := NewRandom(ts)
	ts[1].SetDown(true)
	checkShares(t, pickCounts(b, ts, nil, 10000), []float64{1, 0, 2, 3}, 10000)
	ts[1].SetDown(false)
	checkShares(t, pickCounts(b, ts, ts[3], 10000), []float64{1, 4, 2, 0}, 10000)
}

// With nearly all the weight unavailable, draws keep missing and the scan
// fallback picks; it must be weighted too.
func TestRandomScanFallbackIsWeighted(t *testing.T) {
	ts := targets(1000, 1, 3)
	ts[0].SetDown(true)
	checkShares(t, pickCounts(NewRandom(ts), ts, nil, 10000), []float64{0, 1, 3}, 10000)
}

func TestRandomUnavailable(t *testing.T) {
	ts := targets(1, 2, 3)
	checkUnavailable(t, NewRandom(ts), ts)
	if NewRandom(nil).Pick(nil, nil) != nil || NewRandom(targets(0, 0)).Pick(nil, nil) != nil {
		t.Fatal("picked from an empty or weightless pool")
	}
}
