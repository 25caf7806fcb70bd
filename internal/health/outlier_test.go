package health

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// newOutlierRig returns an Outlier on a fake clock watching n targets.
func newOutlierRig(t *testing.T, cfg OutlierConfig, n int) (*Outlier, *fakeClock, []*balancer.Target, *prometheus.Registry) {
	t.Helper()
	reg, preg, _ := testRegistry(t)
	fc := newFakeClock()
	reg.clock = fc
	o, err := NewOutlier(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Stop)
	ts := make([]*balancer.Target, n)
	for i := range ts {
		ts[i] = newTarget(t, fmt.Sprintf("http://10.0.0.%d:8080", i+1))
	}
	o.Update(ts)
	return o, fc, ts, preg
}

func fail(o *Outlier, t *balancer.Target, n int) {
	for range n {
		o.Report(t, true)
	}
}

func TestOutlierEjectsAfterConsecutiveFailures(t *testing.T) {
	reg, preg, logs := testRegistry(t)
	reg.clock = newFakeClock()
	o, err := NewOutlier(reg, OutlierConfig{ConsecutiveFailures: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Stop)
	tg, other := newTarget(t, "http://10.0.0.1:80"), newTarget(t, "http://10.0.0.2:80")
	o.Update([]*balancer.Target{tg, other})

	fail(o, tg, 2)
	o.Report(tg, false) // a success resets the streak
	fail(o, tg, 2)
	if !tg.Available() {
		t.Fatal("ejected without 3 consecutive failures")
	}
	o.Report(tg, true)
	if tg.Available() {
		t.Fatal("not ejected after 3 consecutive failures")
	}
	if !other.Available() {
		t.Fatal("another target was affected")
	}
	l := map[string]string{"upstream": "users", "target": tg.Addr}
	if v, _ := metricValue(t, preg, "gatehouse_upstream_outlier_ejections_total", l); v != 1 {
		t.Fatalf("ejections counter = %v, want 1", v)
	}
	if v, _ := metricValue(t, preg, "gatehouse_upstream_target_healthy", l); v != 0 {
		t.Fatalf("healthy gauge = %v, want 0", v)
	}
	attrs, ok := logs.find("target ejected by outlier detection")
	if !ok || attrs["target"] != tg.Addr || attrs["reason"] != "3 consecutive failed requests" || attrs["ejection"] != "30s" {
		t.Fatalf("ejection log = %v, %v", attrs, ok)
	}
	if st := reg.Status(); !st[0].Ejected || st[0].InRotation || !st[0].Healthy || st[0].Ejections != 1 {
		t.Fatalf("Status = %+v", st[0])
	}
}

// TestOutlierBackoff: the n-th ejection lasts n × base, capped at the
// maximum; without an active checker the target returns on expiry.
func TestOutlierBackoff(t *testing.T) {
	const base = 10 * time.Second
	o, fc, ts, _ := newOutlierRig(t, OutlierConfig{ConsecutiveFailures: 1, BaseEjection: base, MaxEjection: 25 * time.Second}, 2)
	tg := ts[0]
	for i, want := range []time.Duration{10 * time.Second, 20 * time.Second, 25 * time.Second, 25 * time.Second} {
		fail(o, tg, 1)
		if tg.Available() {
			t.Fatalf("ejection %d did not happen", i+1)
		}
		fc.Advance(want - time.Nanosecond)
		if tg.Available() {
			t.Fatalf("ejection %d ended before %v", i+1, want)
		}
		fc.Advance(time.Nanosecond)
		if !tg.Available() {
			t.Fatalf("ejection %d not over after %v", i+1, want)
		}
	}
}

// TestOutlierBackoffDecays: each base period back in rotation forgives one
// past ejection.
func TestOutlierBackoffDecays(t *testing.T) {
	const base = 10 * time.Second
	o, fc, ts, _ := newOutlierRig(t, OutlierConfig{ConsecutiveFailures: 1, BaseEjection: base}, 2)
	tg := ts[0]
	for _, d := range []time.Duration{base, 2 * base, 3 * base} {
		fail(o, tg, 1)
		fc.Advance(d)
	}
	if !tg.Available() {
		t.Fatal("setup: target should be back after its third ejection")
	}
	fc.Advance(2 * base) // forgives two of the three ejections
	fail(o, tg, 1)
	fc.Advance(2*base - time.Nanosecond)
	if tg.Available() {
		t.Fatal("ejection shorter than 2 × base")
	}
	fc.Advance(time.Nanosecond)
	if !tg.Available() {
		t.Fatal("ejection after decay lasted longer than 2 × base; multiplier did not decay")
	}
}

func TestOutlierMaxEjectedPercent(t *testing.T) {
	tests := []struct {
		targets, percent, want int
	}{
		{4, 50, 2},
		{3, 50, 1},
		{10, 50, 5},
		{1, 50, 1}, // the first ejection is always allowed
		{2, 10, 1}, // likewise when the share rounds down to zero
		{3, 100, 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d_targets_%d_percent", tt.targets, tt.percent), func(t *testing.T) {
			o, _, ts, preg := newOutlierRig(t, OutlierConfig{ConsecutiveFailures: 1, MaxEjectedPercent: tt.percent}, tt.targets)
			for _, tg := range ts {
				fail(o, tg, 1)
			}
			ejected := 0
			for _, tg := range ts {
				if !tg.Available() {
					ejected++
				}
			}
			if ejected != tt.want {
				t.Fatalf("%d ejected, want %d", ejected, tt.want)
			}
			if tt.want < tt.targets {
				v, _ := metricValue(t, preg, "gatehouse_upstream_outlier_ejections_overflow_total",
					map[string]string{"upstream": "users"})
				if v != float64(tt.targets-tt.want) {
					t.Fatalf("overflow counter = %v, want %d", v, tt.targets-tt.want)
				}
			}
		})
	}
}

// TestOutlierCapFreesOnReadmission: once an ejected target returns, the
// cap lets another one go.
func TestOutlierCapFreesOnReadmission(t *testing.T) {
	o, fc, ts, _ := newOutlierRig(t, OutlierConfig{ConsecutiveFailures: 2, BaseEjection: time.Second, MaxEjectedPercent: 50}, 2)
	fail(o, ts[0], 2)
	fail(o, ts[1], 2)
	if ts[0].Available() || !ts[1].Available() {
		t.Fatal("setup: exactly the first target should be ejected")
	}
	fc.Advance(time.Second)
	fail(o, ts[1], 2) // a capped target needs a fresh streak
	if ts[1].Available() {
		t.Fatal("second target not ejected after the first was readmitted")
	}
}

// TestOutlierUpdate: kept targets keep their ejection, removed ones lose
// it, new ones are watched; reports about unknown targets are ignored.
func TestOutlierUpdate(t *testing.T) {
	o, _, ts, _ := newOutlierRig(t, OutlierConfig{ConsecutiveFailures: 1, MaxEjectedPercent: 100}, 3)
	reg := o.reg
	fail(o, ts[0], 1)
	fail(o, ts[1], 1)
	added := newTarget(t, "http://10.0.0.9:8080")
	o.Update([]*balancer.Target{ts[0], added})
	if ts[0].Available() {
		t.Fatal("kept target lost its ejection")
	}
	if !ts[1].Available() {
		t.Fatal("removed target left ejected")
	}
	fail(o, ts[2], 1) // no longer watched
	if !ts[2].Available() {
		t.Fatal("report about an unwatched target ejected it")
	}
	fail(o, added, 1)
	if added.Available() {
		t.Fatal("added target not watched")
	}
	if got := len(reg.Status()); got != 2 {
		t.Fatalf("registry tracks %d targets, want 2", got)
	}
	o.Stop()
	if !ts[0].Available() || !added.Available() {
		t.Fatal("Stop must lift ejections")
	}
	if got := len(reg.Status()); got != 0 {
		t.Fatalf("registry tracks %d targets after Stop, want 0", got)
	}
}

// TestOutlierReadmissionWaitsForActiveCheck: with an active checker, an
// expired ejection keeps the target out until a check that started after
// the expiry passes — not the expiry alone, not a check already in flight.
func TestOutlierReadmissionWaitsForActiveCheck(t *testing.T) {
	reg, _, logs := testRegistry(t)
	fc := newFakeClock()
	reg.clock = fc
	srv := newScripted(t)
	tg := newTarget(t, srv.URL)
	c, err := NewChecker(reg, fastCheck(CheckConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	o, err := NewOutlier(reg, OutlierConfig{ConsecutiveFailures: 2, BaseEjection: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Stop)
	targets := []*balancer.Target{tg}
	c.Update(targets)
	o.Update(targets)

	srv.next(t, 200)
	fail(o, tg, 2)
	if tg.Available() {
		t.Fatal("not ejected")
	}
	srv.wait(t) // a check started before the ejection expires …
	fc.Advance(30 * time.Second)
	srv.replies <- reply{status: 200} // … and passes after it
	srv.wait(t)
	if tg.Available() {
		t.Fatal("readmitted on expiry or by a check that began before it")
	}
	if _, ok := logs.find("outlier ejection expired; waiting for an active health check"); !ok {
		t.Fatal("expiry while waiting for a check not logged")
	}
	srv.replies <- reply{status: 503}
	srv.wait(t)
	if tg.Available() {
		t.Fatal("readmitted though the active check failed")
	}
	srv.replies <- reply{status: 200}
	srv.wait(t)
	if !tg.Available() {
		t.Fatal("not readmitted after a passing active check")
	}
	if attrs, ok := logs.find("target readmitted after outlier ejection"); !ok || attrs["reason"] != "ejection expired and active health check passed" {
		t.Fatalf("readmission log = %v, %v", attrs, ok)
	}
}

// TestOutlierAwaitingCheckReleasedWhenCheckerStops: an expired ejection
// waiting for a check must not outlive the checker.
func TestOutlierAwaitingCheckReleasedWhenCheckerStops(t *testing.T) {
	reg, _, _ := testRegistry(t)
	fc := newFakeClock()
	reg.clock = fc
	srv := newScripted(t)
	tg := newTarget(t, srv.URL)
	c, err := NewChecker(reg, fastCheck(CheckConfig{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	o, err := NewOutlier(reg, OutlierConfig{ConsecutiveFailures: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Stop)
	c.Update([]*balancer.Target{tg})
	o.Update([]*balancer.Target{tg})
	srv.wait(t) // hold the first check so none can pass
	fail(o, tg, 1)
	fc.Advance(DefaultBaseEjection)
	if tg.Available() {
		t.Fatal("setup: target should wait for an active check")
	}
	c.Stop()
	if !tg.Available() {
		t.Fatal("target stuck out of rotation after its checker stopped")
	}
}

// TestVerdictsCombine: a target is in rotation only when the active check
// says healthy AND the outlier detector has not ejected it.
func TestVerdictsCombine(t *testing.T) {
	reg, _, _ := testRegistry(t)
	fc := newFakeClock()
	reg.clock = fc
	srv := newScripted(t)
	tg := newTarget(t, srv.URL)
	c, err := NewChecker(reg, fastCheck(CheckConfig{HealthyThreshold: 1, UnhealthyThreshold: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	o, err := NewOutlier(reg, OutlierConfig{ConsecutiveFailures: 1, BaseEjection: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(o.Stop)
	c.Update([]*balancer.Target{tg})
	o.Update([]*balancer.Target{tg})

	srv.next(t, 503)
	srv.wait(t)
	if tg.Available() {
		t.Fatal("setup: active check should hold the target out")
	}
	fail(o, tg, 1)
	srv.replies <- reply{status: 200}
	srv.wait(t)
	if tg.Available() {
		t.Fatal("active recovery readmitted an ejected target")
	}
	if st := reg.Status()[0]; !st.Healthy || !st.Ejected {
		t.Fatalf("Status = %+v, want healthy and ejected", st)
	}
	fc.Advance(time.Minute)
	srv.replies <- reply{status: 200} // began before the expiry: no readmission
	srv.wait(t)
	srv.replies <- reply{status: 200}
	srv.wait(t)
	if !tg.Available() {
		t.Fatal("target not back once both verdicts cleared")
	}
}

// TestOutlierDisabled: a negative threshold turns ejection off.
func TestOutlierDisabled(t *testing.T) {
	o, _, ts, _ := newOutlierRig(t, OutlierConfig{ConsecutiveFailures: -1}, 1)
	fail(o, ts[0], 1000)
	if !ts[0].Available() {
		t.Fatal("ejected with outlier detection disabled")
	}
}

// TestReportAllocs: Report is on the request path; it must not allocate,
// whether the target succeeds, fails or is unknown.
func TestReportAllocs(t *testing.T) {
	o, _, ts, _ := newOutlierRig(t, OutlierConfig{ConsecutiveFailures: 1 << 30}, 2)
	unknown := newTarget(t, "http://10.9.9.9:80")
	allocs := testing.AllocsPerRun(1000, func() {
		o.Report(ts[0], true)
		o.Report(ts[0], false)
		o.Report(ts[1], true)
		o.Report(unknown, true)
	})
	if allocs != 0 {
		t.Fatalf("Report allocates %v times per run", allocs)
	}
}

func BenchmarkReport(b *testing.B) {
	reg := NewRegistry("bench", nil, nil)
	o, err := NewOutlier(reg, OutlierConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Stop()
	ts := make([]*balancer.Target, 8)
	for i := range ts {
		ts[i] = newTarget(b, fmt.Sprintf("http://10.0.0.%d:8080", i+1))
	}
	o.Update(ts)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			// Mostly successes with an occasional failure, never enough in
			// a row to eject: the steady state of a healthy upstream.
			o.Report(ts[i&7], i%16 == 0)
			i++
		}
	})
}
