package balancer

import (
	"fmt"
	"net/url"
	"testing"
)

func prioTargets(prios ...int) []*Target {
	ts := make([]*Target, len(prios))
	for i, p := range prios {
		ts[i] = NewTarget(&url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", 9100+i)}, 1)
		ts[i].Priority = p
	}
	return ts
}

func TestPriorityFailover(t *testing.T) {
	ts := prioTargets(0, 0, 1)
	p := NewPool("u")
	if _, err := p.Update("round_robin", ts); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		if got := p.Pick(nil, nil); got == ts[2] {
			t.Fatal("backup target used while the primary group is available")
		}
	}
	ts[0].SetDown(true)
	if got := p.Pick(nil, ts[1]); got != ts[2] {
		t.Fatalf("primary group exhausted (one down, one skipped): got %v, want the backup", got)
	}
	ts[1].SetDown(true)
	for i := 0; i < 5; i++ {
		if got := p.Pick(nil, nil); got != ts[2] {
			t.Fatalf("primary group down: got %v, want the backup", got)
		}
	}
	ts[2].SetDown(true)
	if got := p.Pick(nil, nil); got != nil {
		t.Fatalf("nothing healthy and fail mode: got %v, want nil (503)", got.Addr)
	}
}

func TestSpreadWhenNoneHealthy(t *testing.T) {
	ts := prioTargets(0, 0, 0)
	p := NewPool("u")
	if _, err := p.UpdateWithOptions("round_robin", ts, Options{SpreadWhenNoneHealthy: true}); err != nil {
		t.Fatal(err)
	}
	for _, tg := range ts {
		tg.SetDown(true)
	}
	ts[2].SetDraining(true)
	seen := map[*Target]int{}
	for i := 0; i < 100; i++ {
		tg := p.Pick(nil, nil)
		if tg == nil || tg == ts[2] {
			t.Fatalf("pick %d: %v (want a non-draining target though all are down)", i, tg)
		}
		seen[tg]++
	}
	if seen[ts[0]] != 50 || seen[ts[1]] != 50 {
		t.Fatalf("panic mode not spread evenly: %v", seen)
	}
}
