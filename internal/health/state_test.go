package health

import (
	"testing"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// TestNewTargetStartsInRotation: a target the registry has not seen is put
// in rotation at once, whatever state it arrived in, so a start or reload
// never waits HealthyThreshold × Interval before serving.
func TestNewTargetStartsInRotation(t *testing.T) {
	reg, preg, _ := testRegistry(t)
	srv := newScripted(t)
	tg := newTarget(t, srv.URL)
	tg.SetDown(true) // e.g. inherited by the pool from a replaced target
	c, err := NewChecker(reg, fastCheck(CheckConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	c.Update([]*balancer.Target{tg})
	if !tg.Available() {
		t.Fatal("new target not in rotation before its first check")
	}
	if v, ok := metricValue(t, preg, "gatehouse_upstream_target_healthy", map[string]string{"upstream": "users", "target": tg.Addr}); !ok || v != 1 {
		t.Fatalf("healthy gauge = %v, %v; want 1", v, ok)
	}
}

// TestStatus lists every tracked target, sorted, with both verdicts.
func TestStatus(t *testing.T) {
	o, _, ts, _ := newOutlierRig(t, OutlierConfig{ConsecutiveFailures: 1, MaxEjectedPercent: 100}, 3)
	fail(o, ts[1], 1)
	st := o.reg.Status()
	if len(st) != 3 {
		t.Fatalf("Status has %d entries, want 3", len(st))
	}
	for i, s := range st {
		if s.Target != ts[i].Addr {
			t.Fatalf("Status[%d] = %s, want %s (sorted)", i, s.Target, ts[i].Addr)
		}
		if want := i == 1; s.Ejected != want || s.InRotation == want || !s.Healthy {
			t.Fatalf("Status[%d] = %+v", i, s)
		}
	}
}
