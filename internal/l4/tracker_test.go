package l4

import (
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

type closer struct{ closed atomic.Int32 }

func (c *closer) Close() error { c.closed.Add(1); return nil }

func target(addr string) *balancer.Target {
	return balancer.NewTarget(&url.URL{Scheme: "tcp", Host: addr}, 1)
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestTrackerDrainClosesOnlyDrainingTargets(t *testing.T) {
	tr := NewTracker()
	gone, kept, back := target("10.0.0.1:1"), target("10.0.0.2:1"), target("10.0.0.3:1")
	cg, ck, cb := &closer{}, &closer{}, &closer{}
	tr.Add(gone, cg)
	tr.Add(kept, ck)
	tr.Add(back, cb)
	if tr.Total() != 3 || tr.Open(gone) != 1 {
		t.Fatalf("total %d, open on gone %d", tr.Total(), tr.Open(gone))
	}
	gone.SetDraining(true)
	// back was removed and then added again: no longer draining when the
	// grace period ends (Drain looks then, not when it is called).
	tr.Drain([]*balancer.Target{gone, back}, 20*time.Millisecond)
	waitUntil(t, func() bool { return cg.closed.Load() == 1 })
	if ck.closed.Load() != 0 || cb.closed.Load() != 0 {
		t.Errorf("closed a connection of a target that is not draining: kept %d, back %d", ck.closed.Load(), cb.closed.Load())
	}
}

func TestTrackerShutdown(t *testing.T) {
	tr := NewTracker()
	if n := tr.Shutdown(time.Hour); n != 0 {
		t.Fatalf("empty tracker closed %d", n)
	}
	tg := target("10.0.0.1:1")
	c1, c2 := &closer{}, &closer{}
	done1 := tr.Add(tg, c1)
	tr.Add(tg, c2)
	done1() // ended by itself before the grace period ran out
	done1() // a second call is a no-op
	if tr.Total() != 1 {
		t.Fatalf("total %d after one of two ended", tr.Total())
	}
	if n := tr.Shutdown(10 * time.Millisecond); n != 1 || c2.closed.Load() != 1 || c1.closed.Load() != 0 {
		t.Fatalf("Shutdown closed %d (c1 %d, c2 %d), want only the one still open", n, c1.closed.Load(), c2.closed.Load())
	}
}

func TestTrackerShutdownReturnsWhenIdle(t *testing.T) {
	tr := NewTracker()
	done := tr.Add(target("10.0.0.1:1"), &closer{})
	go done()
	start := time.Now()
	if n := tr.Shutdown(time.Minute); n != 0 {
		t.Fatalf("closed %d", n)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("Shutdown waited %v for a tracker that went idle", d)
	}
}
