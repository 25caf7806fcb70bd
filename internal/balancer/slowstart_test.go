package balancer

import (
	"math"
	"sync/atomic"
	"testing"
	"time"
)

const testWindow = 10 * time.Second

// rampShare is the ramp floor as the balancers apply it (≈10%).
const rampShare = float64(rampMinFactor) / rampScale

// returning builds algo over three equal targets with slow start and takes
// the last one down and back at the fake clock's now.
func returning(t *testing.T, algo string, n int, o Options) ([]*Target, Balancer) {
	t.Helper()
	ws := make([]int, n)
	for i := range ws {
		ws[i] = 1
	}
	ts := targets(ws...)
	b, err := NewWithOptions(algo, ts, o)
	if err != nil {
		t.Fatal(err)
	}
	ts[n-1].SetDown(true)
	ts[n-1].SetDown(false)
	return ts, b
}

func TestSlowStartWeightedRoundRobin(t *testing.T) {
	clk := useFakeClock(t)
	ts, b := returning(t, "weighted_round_robin", 3, Options{SlowStart: testWindow})
	share := func() int { return pickCounts(b, ts, nil, 3000)[2] }

	// Smooth WRR is deterministic: at 5% of the window the floor applies,
	// 0.0996 / 2.0996 of the picks.
	clk.advance(testWindow / 20)
	early := share()
	if want := 3000 * rampShare / (2 + rampShare); math.Abs(float64(early)-want) > 3 {
		t.Fatalf("returning target got %d of 3000 picks at 5%% of the window, want ≈%.0f", early, want)
	}
	clk.advance(testWindow/2 - testWindow/20) // halfway: 0.5 / 2.5
	mid := share()
	if math.Abs(float64(mid)-600) > 3 {
		t.Fatalf("returning target got %d of 3000 picks halfway, want ≈600", mid)
	}
	clk.advance(testWindow / 2)
	if late := share(); math.Abs(float64(late)-1000) > 3 || !(early < mid && mid < late) {
		t.Fatalf("shares %d, %d, %d of 3000: want a ramp to 1000", early, mid, late)
	}
	if ts[2].availableSince.Load() != 0 {
		t.Fatal("ramp stamp not cleared after the window")
	}

	// Control: without slow start the returning target gets its third at once.
	ts, b = returning(t, "weighted_round_robin", 3, Options{})
	if got := pickCounts(b, ts, nil, 3000)[2]; got != 1000 {
		t.Fatalf("without slow start: %d of 3000, want 1000", got)
	}
}

// The other algorithms ramp too: at the floor the returning target's
// share is ≈10% of a full one; after the window it is a full one.
func TestSlowStartAlgorithms(t *testing.T) {
	for _, c := range []struct {
		algo string
		n    int
	}{
		{"random", 3},
		{"least_request", 3},
		{"least_request", 20}, // the power-of-two-choices path
		{"round_robin", 3},
		{"hash", 3}, // keyless requests go to the (ramping) fallback
	} {
		t.Run(c.algo, func(t *testing.T) {
			clk := useFakeClock(t)
			ts, b := returning(t, c.algo, c.n, Options{SlowStart: testWindow})
			const picks = 20000
			weights := make([]float64, c.n)
			for i := range weights {
				weights[i] = 1
			}
			weights[c.n-1] = rampShare
			checkShares(t, pickCounts(b, ts, nil, picks), weights, picks)
			clk.advance(testWindow)
			weights[c.n-1] = 1
			checkShares(t, pickCounts(b, ts, nil, picks), weights, picks)
		})
	}
}

// Aggression shapes the ramp as Envoy's does.
func TestSlowStartAggression(t *testing.T) {
	clk := useFakeClock(t)
	ts, b := returning(t, "random", 3, Options{SlowStart: testWindow, SlowStartAggression: 2})
	clk.advance(testWindow / 4) // (1/4)^(1/2) = 1/2
	checkShares(t, pickCounts(b, ts, nil, 20000), []float64{1, 1, 0.5}, 20000)
	if got := ts[2].EffectiveWeight(timeNow(), testWindow, 2); math.Abs(got-0.5) > 0.001 {
		t.Fatalf("EffectiveWeight = %v, want 0.5", got)
	}
	if got := ts[2].EffectiveWeight(timeNow(), testWindow, 0); math.Abs(got-0.25) > 0.001 {
		t.Fatalf("linear EffectiveWeight = %v, want 0.25", got)
	}
	if got := ts[2].EffectiveWeight(timeNow(), 0, 0); got != 1 {
		t.Fatalf("EffectiveWeight without slow start = %v, want 1", got)
	}
}

// p2c_ewma divides its cost by the effective weight: with equal latencies
// the returning target, ten times dearer, loses every comparison.
func TestSlowStartP2CEWMA(t *testing.T) {
	clk := useFakeClock(t)
	ts, b := returning(t, "p2c_ewma", 3, Options{SlowStart: testWindow})
	tick := ewmaNow() // one stamp, so the estimates decay alike and tie
	for _, x := range ts {
		x.observeAt(tick, 10*time.Millisecond, false)
	}
	if got := pickCounts(b, ts, nil, 3000)[2]; got != 0 {
		t.Fatalf("returning target won %d of 3000 comparisons at the floor", got)
	}
	clk.advance(testWindow)
	checkShares(t, pickCounts(b, ts, nil, 6000), []float64{1, 1, 1}, 6000)
}

// hash keeps a key on its target through the ramp: moving it away and
// back would break the affinity hashing is for.
func TestSlowStartHashKeysExempt(t *testing.T) {
	useFakeClock(t)
	ts := targets(1, 1, 1)
	b := mustHash(t, ts, Options{HashOn: HashOnHeader, HashKey: "X-User", SlowStart: testWindow})
	r := httptestRequest("/")
	r.Header.Set("X-User", "alice")
	owner := b.Pick(r, nil)
	owner.SetDown(true)
	owner.SetDown(false)
	for range 100 {
		if b.Pick(r, nil) != owner {
			t.Fatal("keyed request moved off its ramping target")
		}
	}
}

// The ramp starts when a target becomes available: back from down, or
// added by a reload to a serving pool; nothing else starts or resets it.
func TestSlowStartTransitions(t *testing.T) {
	useFakeClock(t)
	ramping := func(x *Target) bool { return x.availableSince.Load() != 0 }
	x := targets(1)[0]
	x.SetDown(false)
	if ramping(x) {
		t.Fatal("new target, or SetDown(false) on an up target, ramps")
	}
	x.SetDown(true)
	if ramping(x) {
		t.Fatal("down target ramps")
	}
	x.SetDown(false)
	if !ramping(x) {
		t.Fatal("target back from down does not ramp")
	}

	p := NewPool("users")
	o := Options{SlowStart: testWindow}
	first := targets(1, 1)
	if _, err := p.UpdateWithOptions("random", first, o); err != nil {
		t.Fatal(err)
	}
	if ramping(first[0]) || ramping(first[1]) {
		t.Fatal("the first targets of a pool ramp")
	}
	next := targets(1, 2, 1) // :9000 kept, :9001 reweighted, :9002 added
	first[1].SetDown(true)
	first[1].SetDown(false) // ramping when the reload replaces it
	stamp := first[1].availableSince.Load()
	if _, err := p.UpdateWithOptions("random", next, o); err != nil {
		t.Fatal(err)
	}
	got := p.Targets()
	if got[0] != first[0] || ramping(got[0]) {
		t.Fatal("a kept target ramps after a reload")
	}
	if got[1] == first[1] || got[1].availableSince.Load() != stamp {
		t.Fatal("reweighted target lost its ramp")
	}
	if !ramping(got[2]) {
		t.Fatal("target added by a reload does not ramp")
	}
}

// Without slow start, or with it but no target ramping, Pick reads no
// clock; with a ramping target, at most once.
func TestSlowStartClockReads(t *testing.T) {
	ts := targets(1, 1, 1, 1)
	ts[3].SetDown(true)
	ts[3].SetDown(false) // ramping (stamped by the real clock)
	var reads atomic.Int64
	old := timeNow
	timeNow = func() time.Time { reads.Add(1); return time.Now() }
	t.Cleanup(func() { timeNow = old })
	for _, algo := range []string{"round_robin", "weighted_round_robin", "least_request", "random", "p2c_ewma", "hash"} {
		off, _ := NewWithOptions(algo, ts, Options{})
		on, _ := NewWithOptions(algo, ts, Options{SlowStart: time.Hour})
		reads.Store(0)
		for range 100 {
			off.Pick(nil, nil)
		}
		if n := reads.Load(); n != 0 {
			t.Errorf("%s without slow start: %d clock reads in 100 picks", algo, n)
		}
		for range 100 {
			on.Pick(nil, nil)
		}
		if n := reads.Load(); n > 100 {
			t.Errorf("%s with a ramping target: %d clock reads in 100 picks", algo, n)
		}
	}
	// A ramp that is over is forgotten on first sight, and costs no reads.
	quick, _ := NewWithOptions("weighted_round_robin", ts, Options{SlowStart: time.Nanosecond})
	quick.Pick(nil, nil)
	reads.Store(0)
	for range 100 {
		quick.Pick(nil, nil)
	}
	if n := reads.Load(); n != 0 {
		t.Errorf("%d clock reads once no target ramps", n)
	}
}

func TestSlowStartOptionErrors(t *testing.T) {
	for name, o := range map[string]Options{
		"negative window":     {SlowStart: -time.Second},
		"negative aggression": {SlowStart: time.Second, SlowStartAggression: -1},
		"NaN aggression":      {SlowStart: time.Second, SlowStartAggression: math.NaN()},
	} {
		for _, algo := range Algorithms() {
			if _, err := NewWithOptions(algo, targets(1), o); err == nil {
				t.Errorf("%s: %s accepted", algo, name)
			}
		}
	}
}

func TestSlowStartPickDoesNotAllocate(t *testing.T) {
	ts := targets(1, 2, 3, 4)
	ts[1].SetDown(true)
	ts[1].SetDown(false)
	for _, x := range ts {
		x.Observe(1e6, false)
	}
	for _, algo := range []string{"round_robin", "weighted_round_robin", "least_request", "random", "p2c_ewma"} {
		b, err := NewWithOptions(algo, ts, Options{SlowStart: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(100, func() { b.Pick(nil, ts[0]) }); a != 0 {
			t.Errorf("%s: %v allocs per Pick with a ramping target", algo, a)
		}
	}
}

// BenchmarkSlowStart is Pick from all cores with slow start off (the
// baseline), on with no target ramping, and on with one of four targets
// ramping (the real clock is read once per pick that meets it).
//
//	go test -run '^$' -bench BenchmarkSlowStart -benchmem ./internal/balancer/
func BenchmarkSlowStart(b *testing.B) {
	for _, algo := range []string{"weighted_round_robin", "random", "least_request"} {
		for _, mode := range []string{"off", "idle", "ramping"} {
			b.Run(algo+"/"+mode, func(b *testing.B) {
				ts := targets(5, 1, 1, 3)
				o := Options{SlowStart: time.Hour}
				switch mode {
				case "off":
					o = Options{}
					fallthrough
				case "ramping":
					ts[0].SetDown(true)
					ts[0].SetDown(false)
				}
				bal, err := NewWithOptions(algo, ts, o)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if bal.Pick(nil, nil) == nil {
							b.Fatal("nil pick")
						}
					}
				})
			})
		}
	}
}
