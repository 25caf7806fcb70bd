package balancer

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

func TestAlgorithmsRegistered(t *testing.T) {
	want := []string{"hash", "least_connections", "least_request", "p2c_ewma", "random", "round_robin", "weighted_round_robin"}
	if got := Algorithms(); !slices.Equal(got, want) {
		t.Fatalf("Algorithms() = %v, want %v", got, want)
	}
	for _, name := range want {
		ts := targets(1, 2)
		b, err := New(name, ts)
		if err != nil {
			t.Fatalf("New(%q): %v", name, err)
		}
		if got := b.Pick(nil, nil); got == nil {
			t.Fatalf("%s picked nothing", name)
		}
		checkUnavailable(t, b, ts)
	}
}

func TestPoolPickBeforeUpdate(t *testing.T) {
	if got := NewPool("empty").Pick(nil, nil); got != nil {
		t.Fatalf("empty pool picked %v", got)
	}
}

// A Pick that loaded the pool's state just before an Update replaced all
// its targets (now draining) picks from the new targets instead of
// failing: a reload that swaps an upstream's only target must not answer
// a request with "no available target".
func TestPoolPickAcrossUpdate(t *testing.T) {
	p := NewPool("users")
	old := targets(1)
	if _, err := p.Update("round_robin", old); err != nil {
		t.Fatal(err)
	}
	stale := p.state.Load() // as a Pick that has loaded it and not yet picked
	repl := NewTarget(&url.URL{Scheme: "http", Host: "127.0.0.1:9100"}, 1)
	if _, err := p.Update("round_robin", []*Target{repl}); err != nil {
		t.Fatal(err)
	}
	if !old[0].Draining() {
		t.Fatal("the replaced target is not draining")
	}
	if got := p.pickFrom(stale, nil, nil); got != repl {
		t.Fatalf("pick from the replaced state: %v, want the new target", got)
	}
	// Nothing available and no newer state: nil, without looping.
	repl.SetDown(true)
	if got := p.Pick(nil, nil); got != nil {
		t.Fatalf("picked %v with the only target down", got)
	}
}

func TestPoolUpdateWithOptions(t *testing.T) {
	p := NewPool("users")
	ts := targets(1, 1, 1)
	o := Options{HashOn: HashOnHeader, HashKey: "X-User"}
	if _, err := p.UpdateWithOptions("hash", ts, o); err != nil {
		t.Fatal(err)
	}
	if p.Options() != o || p.Algorithm() != "hash" {
		t.Fatalf("pool kept %+v %q", p.Options(), p.Algorithm())
	}
	r := httptestRequest("/")
	r.Header.Set("X-User", "alice")
	first := p.Pick(r, nil)
	for range 20 {
		if p.Pick(r, nil) != first {
			t.Fatal("options not passed to the hash balancer: same key, different targets")
		}
	}
	// Invalid options leave the pool as it was, targets not drained.
	if _, err := p.UpdateWithOptions("hash", targets(1), Options{HashOn: HashOnCookie}); err == nil {
		t.Fatal("incomplete options accepted")
	}
	if p.Options() != o || len(p.Targets()) != 3 || ts[0].Draining() {
		t.Fatal("failed update changed the pool")
	}
	// Update is UpdateWithOptions with zero Options.
	if _, err := p.Update("round_robin", ts); err != nil || p.Options() != (Options{}) {
		t.Fatalf("Update: %v, options %+v", err, p.Options())
	}
}

// Latency estimates are pool state that survives reloads, including a
// weight change (which swaps in a new Target).
func TestPoolUpdateKeepsLatency(t *testing.T) {
	p := NewPool("users")
	first := targets(1, 1)
	if _, err := p.Update("p2c_ewma", first); err != nil {
		t.Fatal(err)
	}
	first[0].Observe(40*time.Millisecond, false)
	next := targets(5, 1)
	if _, err := p.Update("p2c_ewma", next); err != nil {
		t.Fatal(err)
	}
	kept := p.Targets()[0]
	if kept == first[0] || kept.Weight != 5 {
		t.Fatal("weight change did not swap in the new target")
	}
	if got := kept.LatencyEstimate(); got < 39*time.Millisecond || got > 40*time.Millisecond {
		t.Fatalf("latency estimate %v lost on reload", got)
	}
}
