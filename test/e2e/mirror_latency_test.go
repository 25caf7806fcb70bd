package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestMirrorAddsNoLatency measures the primary's latency through a route
// without mirroring and through routes mirroring every request to a slow
// upstream (2 s per answer) and to a dead one (nobody listens), with the
// requests of the three routes interleaved so a noisy machine slows all
// three alike. Every primary request must succeed and reach the primary
// upstream (exact count), and the p99 with a mirror must stay within
// max(3×, +100 ms) of the p99 without: far above scheduling noise on a
// shared machine, far below the 2 s a primary that waited for its slow
// mirror would take. Each sampled copy must end up counted exactly once
// as sent, dropped (the 64 copies in flight are taken by the slow
// mirror) or error (the dead one).
func TestMirrorAddsNoLatency(t *testing.T) {
	t.Parallel()
	const (
		n      = 300
		warmup = 10
		delay  = 2 * time.Second
	)
	app := newBackend(t, "app")
	slow := newShadowBackend(t, delay)
	dead := freeAddr(t) // nothing listens there
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - {name: web, address: %s}
upstreams:
  - {name: app, targets: [{url: "%s"}]}
  - {name: shadow-slow, targets: [{url: "%s"}]}
  - {name: shadow-dead, targets: [{url: "http://%s"}]}
routes:
  - name: plain
    match: {path: {prefix: /plain}}
    backend: {upstream: app}
  - name: slow
    match: {path: {prefix: /slow}}
    filters: [{request_mirror: {upstream: shadow-slow}}]
    backend: {upstream: app}
  - name: dead
    match: {path: {prefix: /dead}}
    filters: [{request_mirror: {upstream: shadow-dead}}]
    backend: {upstream: app}
`, addr, app.url, slow.srv.URL, dead))

	c := httpClient(t)
	paths := []string{"/plain", "/slow", "/dead"}
	lat := map[string][]time.Duration{}
	failed := 0
	for i := range warmup + n {
		for _, p := range paths {
			start := time.Now()
			resp, _ := get(t, c, fmt.Sprintf("http://%s%s/%d", addr, p, i), "")
			took := time.Since(start)
			if resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "app" {
				failed++
				t.Errorf("%s #%d: %s from %q", p, i, resp.Status, resp.Header.Get("X-Backend"))
			}
			if took >= delay/2 { // fail now, not after 300 × 2 s
				t.Fatalf("%s #%d took %v: the primary waited for its mirror", p, i, took)
			}
			if i >= warmup {
				lat[p] = append(lat[p], took)
			}
		}
	}
	if failed > 0 {
		t.Fatalf("%d primary requests failed", failed)
	}
	total := (warmup + n) * len(paths)
	if got := len(app.requests()); got != total {
		t.Fatalf("primary upstream got %d requests, want %d", got, total)
	}

	p99 := map[string]time.Duration{}
	for _, p := range paths {
		l := lat[p]
		slices.Sort(l)
		p99[p] = l[len(l)*99/100]
		t.Logf("%-6s p50 %-10v p99 %-10v max %v over %d requests", p, l[len(l)/2], p99[p], l[len(l)-1], len(l))
	}
	bound := max(3*p99["/plain"], p99["/plain"]+100*time.Millisecond)
	for _, p := range []string{"/slow", "/dead"} {
		if p99[p] > bound {
			t.Errorf("%s: p99 %v with a mirror, %v without (bound %v): the primary waits for its mirror", p, p99[p], p99["/plain"], bound)
		}
	}

	// Every copy is accounted for once: the slow mirror's after its 2 s.
	sampled := float64(warmup + n)
	counts := func(route, up string) (sent, dropped, errs float64) {
		m := g.metrics()
		sent, _ = metricValue(m, mirrorSeries(route, up, "sent"))
		dropped, _ = metricValue(m, mirrorSeries(route, up, "dropped"))
		errs, _ = metricValue(m, mirrorSeries(route, up, "error"))
		return
	}
	for _, mc := range []struct{ route, up string }{{"slow", "shadow-slow"}, {"dead", "shadow-dead"}} {
		var s, d, e float64
		waitFor(30*time.Second, func() bool { s, d, e = counts(mc.route, mc.up); return s+d+e >= sampled })
		t.Logf("%s mirror: sent %v dropped %v error %v of %v sampled", mc.up, s, d, e, sampled)
		if s+d+e != sampled {
			t.Errorf("%s mirror: sent %v + dropped %v + error %v != %v sampled", mc.up, s, d, e, sampled)
		}
		switch mc.up {
		case "shadow-slow":
			if e != 0 || s == 0 || int(s) != len(slow.requests()) {
				t.Errorf("slow mirror: %v sent, %v errors, it received %d copies", s, e, len(slow.requests()))
			}
		case "shadow-dead":
			if s != 0 || e == 0 {
				t.Errorf("dead mirror: %v sent, %v errors", s, e)
			}
		}
	}
}
