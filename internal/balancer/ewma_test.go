package balancer

import (
	"math"
	"sync"
	"testing"
	"time"
)

// ticks converts d to estimate ticks.
func ticks(d time.Duration) uint32 { return uint32(d >> ewmaTickShift) }

func estimate(t *testing.T, e *ewma, now uint32) float64 {
	t.Helper()
	v, ok := e.at(now)
	if !ok {
		t.Fatal("no estimate")
	}
	return v
}

func near(got, want, rel float64) bool { return math.Abs(got-want) <= rel*math.Abs(want) }

func TestEWMADecayArithmetic(t *testing.T) {
	tau := ticks(ewmaDecay)
	if w := decayWeight(tau); !near(w, 1/math.E, 1e-4) {
		t.Fatalf("weight after τ = %v, want e^-1", w)
	}
	if w := decayWeight(2 * tau); !near(w, math.Exp(-2), 1e-4) {
		t.Fatalf("weight after 2τ = %v, want e^-2", w)
	}
	if decayWeight(0) != 1 {
		t.Fatal("no time passed must keep the old value whole")
	}

	const old, sample = float64(100 * time.Millisecond), float64(10 * time.Millisecond)
	var e ewma
	e.observe(1000, old)
	if got := estimate(t, &e, 1000); got != old {
		t.Fatalf("first sample: %v, want %v", got, old)
	}
	// After τ the old value weighs e^-1 and the new sample the rest.
	e.observe(1000+tau, sample)
	w := decayWeight(tau)
	if got, want := estimate(t, &e, 1000+tau), old*w+sample*(1-w); !near(got, want, 1e-6) {
		t.Fatalf("after τ: %v, want %v", got, want)
	}
}

func TestEWMAPeak(t *testing.T) {
	var e ewma
	e.observe(10, float64(10*time.Millisecond))
	e.observe(11, float64(500*time.Millisecond))
	if got := estimate(t, &e, 11); got != float64(500*time.Millisecond) {
		t.Fatalf("a sample above the estimate must replace it: %v", got)
	}
	// A fast sample in the same tick carries no weight: no time has passed.
	e.observe(11, float64(time.Millisecond))
	if got := estimate(t, &e, 11); got != float64(500*time.Millisecond) {
		t.Fatalf("same-tick lower sample moved the estimate: %v", got)
	}
}

// Between samples the estimate decays toward zero, so a target that once
// was slow becomes worth trying again.
func TestEWMADecaysOnRead(t *testing.T) {
	var e ewma
	e.observe(0, float64(time.Second))
	tau := ticks(ewmaDecay)
	if got := estimate(t, &e, tau); !near(got, float64(time.Second)/math.E, 1e-4) {
		t.Fatalf("read after τ: %v, want 1s/e", got)
	}
	if got := estimate(t, &e, 0); got != float64(time.Second) {
		t.Fatalf("read changed the stored estimate: %v", got)
	}
}

// A clock reading taken just before another goroutine stored a newer tick
// is "no time passed", not a wrapped 39-hour gap; a real wrap is modular.
func TestEWMATicksSince(t *testing.T) {
	if d := ticksSince(100, 105); d != 0 {
		t.Fatalf("slightly stale reading: %d", d)
	}
	if d := ticksSince(5, math.MaxUint32-4); d != 10 {
		t.Fatalf("across the wrap: %d", d)
	}
	var e ewma
	e.observe(105, float64(time.Second))
	e.observe(100, float64(time.Millisecond)) // stale clock: no weight, no time travel
	if v, tick := unpackEWMA(e.bits.Load()); v != float64(time.Second) || tick != 105 {
		t.Fatalf("stale observe stored %v at tick %d", v, tick)
	}
}

func TestObserveFailurePenalty(t *testing.T) {
	var x Target
	x.observeAt(0, time.Millisecond, true)
	if got, _ := x.latency.at(0); got < float64(failurePenalty) {
		t.Fatalf("fast failure counted as %v", time.Duration(got))
	}
	var y Target
	y.observeAt(0, 3*time.Second, true)
	if got, _ := y.latency.at(0); got != float64(3*time.Second) {
		t.Fatalf("slow failure counted as %v, want its own latency", time.Duration(got))
	}
}

func TestLatencyEstimate(t *testing.T) {
	x := targets(1)[0]
	if x.LatencyEstimate() != 0 {
		t.Fatal("estimate before any Observe")
	}
	x.Observe(20*time.Millisecond, false)
	if got := x.LatencyEstimate(); got <= 19*time.Millisecond || got > 20*time.Millisecond {
		t.Fatalf("estimate %v, want ≈20ms", got)
	}
	x.Observe(0, false) // never stored as the "no sample" zero word
	if x.latency.bits.Load() == 0 {
		t.Fatal("a zero latency erased the estimate")
	}
}

// Concurrent observers must not lose the CAS race into a torn or out of
// range value (run with -race).
func TestEWMAConcurrentObserve(t *testing.T) {
	x := targets(1)[0]
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				x.Observe(time.Duration(10+(g+i)%10)*time.Millisecond, false)
			}
		}()
	}
	wg.Wait()
	v, _ := x.latency.at(ewmaNow())
	if v <= 0 || v > float64(20*time.Millisecond) {
		t.Fatalf("estimate %v outside the samples' range", time.Duration(v))
	}
}

// p2c_ewma reads the tick the latest Observe published instead of the
// clock, so Observe must publish it.
func TestObservePublishesClock(t *testing.T) {
	ewmaClock.Store(0)
	targets(1)[0].Observe(time.Millisecond, false)
	if ewmaRecent() == 0 {
		t.Fatal("Observe did not advance the clock Pick reads")
	}
	if NewP2CEWMA(nil).now() != ewmaRecent() {
		t.Fatal("p2c_ewma does not read the published clock")
	}
}
