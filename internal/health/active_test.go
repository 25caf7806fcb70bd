package health

import (
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// TestCheckerThresholds drives every check by hand: the target must stay in
// rotation through UnhealthyThreshold-1 failures, leave on the next one,
// stay out through HealthyThreshold-1 successes and return on the next.
func TestCheckerThresholds(t *testing.T) {
	reg, preg, logs := testRegistry(t)
	srv := newScripted(t)
	tg := newTarget(t, srv.URL)
	c, err := NewChecker(reg, fastCheck(CheckConfig{Path: "/healthz", HealthyThreshold: 2, UnhealthyThreshold: 3}))
	if err != nil {
		t.Fatal(err)
	}
	c.Update([]*balancer.Target{tg})
	t.Cleanup(c.Stop)

	if !tg.Available() {
		t.Fatal("a new target must start in rotation")
	}
	healthy := map[string]string{"upstream": "users", "target": tg.Addr}
	if v, ok := metricValue(t, preg, "gatehouse_upstream_target_healthy", healthy); !ok || v != 1 {
		t.Fatalf("healthy gauge = %v, %v; want 1", v, ok)
	}
	if r := srv.next(t, 200); r.URL.Path != "/healthz" || r.Method != http.MethodGet {
		t.Fatalf("check request %s %s, want GET /healthz", r.Method, r.URL.Path)
	}
	srv.next(t, 503)
	srv.next(t, 503)
	srv.wait(t) // the 2nd failure is recorded
	if !tg.Available() {
		t.Fatal("target went down after 2 failures; threshold is 3")
	}
	srv.replies <- reply{status: 503}
	srv.wait(t)
	if tg.Available() {
		t.Fatal("target still in rotation after 3 consecutive failures")
	}
	if v, _ := metricValue(t, preg, "gatehouse_upstream_target_healthy", healthy); v != 0 {
		t.Fatalf("healthy gauge = %v after going down, want 0", v)
	}
	attrs, ok := logs.find("target failed active health check")
	if !ok || attrs["upstream"] != "users" || attrs["target"] != tg.Addr || attrs["reason"] != "status 503, want 200-399" {
		t.Fatalf("down transition log = %v, %v", attrs, ok)
	}

	srv.replies <- reply{status: 200}
	srv.wait(t)
	if tg.Available() {
		t.Fatal("target back after 1 success; threshold is 2")
	}
	srv.replies <- reply{status: 200}
	srv.wait(t)
	if !tg.Available() {
		t.Fatal("target not back after 2 consecutive successes")
	}
	if _, ok := logs.find("target passed active health check"); !ok {
		t.Fatal("up transition not logged")
	}
	for to, want := range map[string]float64{"down": 1, "up": 1} {
		l := map[string]string{"upstream": "users", "target": tg.Addr, "to": to}
		if v, _ := metricValue(t, preg, "gatehouse_upstream_target_health_transitions_total", l); v != want {
			t.Errorf("transitions{to=%s} = %v, want %v", to, v, want)
		}
	}
}

// TestCheckerFailureStreakResets: a success between failures restarts the
// count, so intermittent errors below the threshold never take a target out.
func TestCheckerFailureStreakResets(t *testing.T) {
	reg, _, _ := testRegistry(t)
	srv := newScripted(t)
	tg := newTarget(t, srv.URL)
	c, err := NewChecker(reg, fastCheck(CheckConfig{UnhealthyThreshold: 2}))
	if err != nil {
		t.Fatal(err)
	}
	c.Update([]*balancer.Target{tg})
	t.Cleanup(c.Stop)
	for range 3 {
		srv.next(t, 500)
		srv.next(t, 200)
	}
	srv.wait(t)
	if !tg.Available() {
		t.Fatal("alternating failures took the target down")
	}
}

// TestCheckerFirstCheckImmediate: with an hour-long interval, the only way
// to see a check is for the first one to run at start.
func TestCheckerFirstCheckImmediate(t *testing.T) {
	reg, _, _ := testRegistry(t)
	srv := newScripted(t)
	c, err := NewChecker(reg, CheckConfig{Interval: time.Hour, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	c.Update([]*balancer.Target{newTarget(t, srv.URL)})
	t.Cleanup(c.Stop)
	srv.next(t, 200)
}

// TestCheckerTimeout: a target that accepts but never answers fails its
// checks once Timeout passes.
func TestCheckerTimeout(t *testing.T) {
	reg, _, _ := testRegistry(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	tg := newTarget(t, srv.URL)
	cfg := fastCheck(CheckConfig{UnhealthyThreshold: 1})
	cfg.Timeout = 20 * time.Millisecond
	c, err := NewChecker(reg, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.Update([]*balancer.Target{tg})
	t.Cleanup(c.Stop)
	waitFor(t, "hanging target to go down", func() bool { return !tg.Available() })
}

// countingServer counts requests and answers with a settable status.
type countingServer struct {
	*httptest.Server
	hits   atomic.Int64
	status atomic.Int64
}

func newCounting(t testing.TB) *countingServer {
	s := &countingServer{}
	s.status.Store(200)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		w.WriteHeader(int(s.status.Load()))
	}))
	t.Cleanup(s.Close)
	return s
}

// TestCheckerUpdate: Update starts loops for new targets, stops those of
// removed ones before returning (no further checks, no goroutine left),
// keeps the loop and verdict of kept ones, and Stop ends everything.
func TestCheckerUpdate(t *testing.T) {
	reg, _, _ := testRegistry(t)
	a, b := newCounting(t), newCounting(t)
	ta, tb := newTarget(t, a.URL), newTarget(t, b.URL)
	c, err := NewChecker(reg, fastCheck(CheckConfig{UnhealthyThreshold: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()

	c.Update([]*balancer.Target{ta})
	waitFor(t, "checks of a", func() bool { return a.hits.Load() >= 2 })
	b.status.Store(503)
	c.Update([]*balancer.Target{ta, tb})
	waitFor(t, "b to be checked and go down", func() bool { return !tb.Available() })

	c.Update([]*balancer.Target{tb})
	frozen := a.hits.Load()
	seen := b.hits.Load()
	waitFor(t, "more checks of b", func() bool { return b.hits.Load() >= seen+3 })
	// One request cancelled by Update may still reach a's handler after
	// Update returned; a loop still running would have made several.
	if got := a.hits.Load(); got > frozen+1 {
		t.Fatalf("removed target checked %d more times after Update returned", got-frozen)
	}
	if tb.Available() {
		t.Fatal("kept target lost its down verdict")
	}
	if st := reg.Status(); len(st) != 1 || st[0].Target != tb.Addr || st[0].Healthy {
		t.Fatalf("Status = %+v, want only b, unhealthy", st)
	}

	c.Stop()
	c.Stop() // idempotent
	if !tb.Available() {
		t.Fatal("Stop must drop the checker's down verdict")
	}
	c.Update([]*balancer.Target{ta}) // ignored after Stop
	a.Close()
	b.Close()
	goleak.VerifyNone(t)
}

// TestCheckerKeepsVerdictAcrossTargetReplacement: the pool replaces a kept
// target's *Target when its weight changes; the verdict must follow.
func TestCheckerKeepsVerdictAcrossTargetReplacement(t *testing.T) {
	reg, _, _ := testRegistry(t)
	srv := newCounting(t)
	srv.status.Store(503)
	old := newTarget(t, srv.URL)
	c, err := NewChecker(reg, fastCheck(CheckConfig{UnhealthyThreshold: 1, HealthyThreshold: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	c.Update([]*balancer.Target{old})
	waitFor(t, "target down", func() bool { return !old.Available() })

	repl := balancer.NewTarget(old.URL, 5)
	c.Update([]*balancer.Target{repl})
	if repl.Available() {
		t.Fatal("replacement target must inherit the down verdict")
	}
	srv.status.Store(200)
	waitFor(t, "replacement back in rotation", func() bool { return repl.Available() })
}

// TestCheckerReplacementKeepsVerdict: a reload that changes the check
// configuration builds a new Checker on the same Registry; a down target
// stays down through the handover instead of needing UnhealthyThreshold
// fresh failures.
func TestCheckerReplacementKeepsVerdict(t *testing.T) {
	reg, _, _ := testRegistry(t)
	srv := newCounting(t)
	srv.status.Store(503)
	tg := newTarget(t, srv.URL)
	c1, err := NewChecker(reg, fastCheck(CheckConfig{UnhealthyThreshold: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c1.Stop)
	c1.Update([]*balancer.Target{tg})
	waitFor(t, "target down", func() bool { return !tg.Available() })

	// A threshold no test reaches: if the handover reset the verdict, the
	// target would be back in rotation for good.
	c2, err := NewChecker(reg, fastCheck(CheckConfig{UnhealthyThreshold: 1 << 30, HealthyThreshold: 1}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c2.Stop)
	c2.Update([]*balancer.Target{tg})
	c1.Stop()
	seen := srv.hits.Load()
	waitFor(t, "checks by the new checker", func() bool { return srv.hits.Load() >= seen+3 })
	if tg.Available() {
		t.Fatal("handover to a new checker put a failing target back in rotation")
	}
	srv.status.Store(200)
	waitFor(t, "target up under the new checker", func() bool { return tg.Available() })
}

// TestJitterBounds: every delay lies within interval × (1 ± jitter), and
// the spread actually uses both sides.
func TestJitterBounds(t *testing.T) {
	const interval = 10 * time.Second
	for _, frac := range []float64{0, 0.1, 0.5, 1} {
		lo := time.Duration(float64(interval) * (1 - frac))
		hi := time.Duration(float64(interval) * (1 + frac))
		minSeen, maxSeen := time.Duration(1<<62), time.Duration(0)
		for _, r := range append([]float64{0, 0.5, 0.9999999}, randoms(2000)...) {
			d := jittered(interval, frac, r)
			if d < max(lo, time.Millisecond) || d > hi {
				t.Fatalf("jitter %v, r=%v: delay %v outside [%v, %v]", frac, r, d, lo, hi)
			}
			minSeen, maxSeen = min(minSeen, d), max(maxSeen, d)
		}
		if frac > 0 && (minSeen >= interval || maxSeen <= interval) {
			t.Fatalf("jitter %v: delays span only [%v, %v]", frac, minSeen, maxSeen)
		}
		if frac == 0 && (minSeen != interval || maxSeen != interval) {
			t.Fatalf("no jitter: delays span [%v, %v], want exactly %v", minSeen, maxSeen, interval)
		}
	}
}

func randoms(n int) []float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]float64, n)
	for i := range out {
		out[i] = rng.Float64()
	}
	return out
}

// TestNilCheckerAndOutlier: an upstream without health checks or outlier
// detection holds nil pointers; calling them must be harmless.
func TestNilCheckerAndOutlier(t *testing.T) {
	var c *Checker
	var o *Outlier
	tg := newTarget(t, "http://127.0.0.1:1")
	c.Update([]*balancer.Target{tg})
	c.Stop()
	o.Update([]*balancer.Target{tg})
	o.Report(tg, true)
	o.Stop()
	if _, err := NewChecker(nil, CheckConfig{}); err == nil {
		t.Fatal("NewChecker(nil registry) must fail, not panic later")
	}
	if _, err := NewOutlier(nil, OutlierConfig{}); err == nil {
		t.Fatal("NewOutlier(nil registry) must fail")
	}
}
