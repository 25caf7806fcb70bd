package e2e

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lbBackend is a backend that can be stopped and started again on the same
// address, and that delays every answer by a settable time.
type lbBackend struct {
	name     string
	addr     string
	delay    atomic.Int64 // nanoseconds
	hits     atomic.Int64
	inflight atomic.Int64
	hold     chan struct{} // when set, requests to /hold wait until it is closed
	mu       sync.Mutex
	srv      *httptest.Server
}

func newLBBackend(t *testing.T, name string) *lbBackend {
	b := &lbBackend{name: name, addr: freeAddr(t)}
	b.start(t)
	t.Cleanup(b.stop)
	return b
}

func (b *lbBackend) start(t *testing.T) {
	t.Helper()
	var ln net.Listener
	// The address was free a moment ago (or was ours); retry briefly in
	// case the kernel has not released it yet.
	if !waitFor(5*time.Second, func() bool {
		var err error
		ln, err = net.Listen("tcp", b.addr)
		return err == nil
	}) {
		t.Fatalf("backend %s: cannot listen on %s", b.name, b.addr)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(b.delay.Load()); d > 0 && r.URL.Path != "/healthz" {
			select {
			case <-time.After(d):
			case <-r.Context().Done():
				return
			}
		}
		if r.URL.Path != "/healthz" {
			b.hits.Add(1)
		}
		if r.URL.Path == "/hold" && b.hold != nil {
			b.inflight.Add(1)
			select {
			case <-b.hold:
			case <-r.Context().Done():
			}
			b.inflight.Add(-1)
		}
		w.Header().Set("X-Backend", b.name)
		w.Write([]byte(b.name))
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
}

// stop kills the backend: listener closed, open connections cut.
func (b *lbBackend) stop() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// load sends GETs from n goroutines until stop is closed (bounded by max
// requests each) and counts outcomes.
type loadResult struct {
	wait         func()
	sent, failed atomic.Int64
	byBackend    sync.Map // name -> *atomic.Int64
	firstErr     atomic.Value
}

func runLoad(t *testing.T, url string, n, max int, stop <-chan struct{}) *loadResult {
	res := &loadResult{}
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: n}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < max; j++ {
				select {
				case <-stop:
					return
				default:
				}
				res.sent.Add(1)
				resp, err := c.Get(url)
				if err != nil {
					res.failed.Add(1)
					res.firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				buf := make([]byte, 64)
				k, _ := resp.Body.Read(buf)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					res.failed.Add(1)
					res.firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d: %s", resp.StatusCode, buf[:k]))
					continue
				}
				v, _ := res.byBackend.LoadOrStore(resp.Header.Get("X-Backend"), new(atomic.Int64))
				v.(*atomic.Int64).Add(1)
			}
		}()
	}
	t.Cleanup(wg.Wait)
	res.wait = wg.Wait
	return res
}

func (r *loadResult) count(name string) int64 {
	v, ok := r.byBackend.Load(name)
	if !ok {
		return 0
	}
	return v.(*atomic.Int64).Load()
}

// TestBackendDeathUnderLoad: one of three backends dies during steady
// load of idempotent requests. No client sees an error (the connect failure
// or reset is retried on another target), and the active health check
// takes it out of rotation within interval × unhealthy_threshold.
func TestBackendDeathUnderLoad(t *testing.T) {
	t.Parallel()
	bs := []*lbBackend{newLBBackend(t, "a"), newLBBackend(t, "b"), newLBBackend(t, "c")}
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: %s}]
access_log: {enabled: false}
upstreams:
  - name: pool
    targets: [{url: "http://%s"}, {url: "http://%s"}, {url: "http://%s"}]
    health_check: {path: /healthz, interval: 100ms, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 1}
routes:
  - name: all
    backend: {upstream: pool}
`, addr, bs[0].addr, bs[1].addr, bs[2].addr))

	stop := make(chan struct{})
	res := runLoad(t, "http://"+addr+"/x", 6, 5000, stop)
	if !waitFor(20*time.Second, func() bool { return res.count("b") > 50 }) {
		t.Fatalf("load did not reach b (50 requests) within 20s: sent=%d failed=%d (%v)", res.sent.Load(), res.failed.Load(), res.firstErr.Load())
	}
	bs[1].stop()
	killed := time.Now()
	healthy := fmt.Sprintf(`gatehouse_upstream_target_healthy{target="%s",upstream="pool"}`, bs[1].addr)
	if !waitFor(5*time.Second, func() bool { v, ok := metricValue(g.metrics(), healthy); return ok && v == 0 }) {
		t.Errorf("target b still healthy 5s after it died; metrics:\n%s", grepLines(g.metrics(), "target_healthy"))
	}
	left := time.Since(killed)
	// interval × threshold = 200ms; allow for a busy machine. (The dead
	// backend refuses connections, so the check timeout — 1s, so that
	// live backends never time out on a loaded machine and leave
	// rotation too — does not delay this.)
	if left > 2*time.Second {
		t.Errorf("target b left rotation after %v, want within ~interval × unhealthy_threshold (200ms)", left)
	}
	afterEject := res.sent.Load()
	if !waitFor(20*time.Second, func() bool { return res.sent.Load() > afterEject+500 }) {
		t.Errorf("only %d requests sent in 20s after b left rotation, want 500", res.sent.Load()-afterEject)
	}
	close(stop)
	res.wait()
	t.Logf("backend death under load: sent=%d failed=%d; a=%d b=%d c=%d; out of rotation after %v",
		res.sent.Load(), res.failed.Load(), res.count("a"), res.count("b"), res.count("c"), left.Round(time.Millisecond))
	if f := res.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed (first: %v); want 0", f, res.sent.Load(), res.firstErr.Load())
	}
	m := g.metrics()
	retries, _ := metricValue(m, `gatehouse_upstream_retries_total{upstream="pool"}`)
	t.Logf("retried=%v; upstream error lines:\n%s", retries, grepLines(m, "gatehouse_upstream_errors_total{"))
}

// TestRemoveTargetByReloadUnderLoad: a target removed by reload finishes
// its in-flight requests and takes no new ones; no request fails.
func TestRemoveTargetByReloadUnderLoad(t *testing.T) {
	t.Parallel()
	bs := []*lbBackend{newLBBackend(t, "a"), newLBBackend(t, "b"), newLBBackend(t, "c")}
	for _, b := range bs {
		b.delay.Store(int64(20 * time.Millisecond)) // keep requests in flight across the reload
	}
	addr := freeAddr(t)
	cfg := func(targets string) string {
		return fmt.Sprintf(`
listeners: [{name: web, address: %s}]
access_log: {enabled: false}
reload: {watch: false}
upstreams:
  - name: pool
    targets: [%s]
routes:
  - name: all
    backend: {upstream: pool}
`, addr, targets)
	}
	all := fmt.Sprintf(`{url: "http://%s"}, {url: "http://%s"}, {url: "http://%s"}`, bs[0].addr, bs[1].addr, bs[2].addr)
	g := startGateway(t, cfg(all))
	stop := make(chan struct{})
	res := runLoad(t, "http://"+addr+"/x", 8, 5000, stop)
	if !waitFor(20*time.Second, func() bool { return res.count("c") > 20 }) {
		t.Fatalf("load did not reach c (20 requests) within 20s: sent=%d failed=%d (%v)", res.sent.Load(), res.failed.Load(), res.firstErr.Load())
	}
	g.rewrite(cfg(fmt.Sprintf(`{url: "http://%s"}, {url: "http://%s"}`, bs[0].addr, bs[1].addr)))
	g.reload()
	if !g.waitLog("configuration reloaded", 10*time.Second) {
		t.Fatal("reload not applied")
	}
	if !g.waitLog("target drained", 10*time.Second) {
		t.Error("removed target was not reported drained")
	}
	cAtReload := bs[2].hits.Load()
	sent := res.sent.Load()
	if !waitFor(20*time.Second, func() bool { return res.sent.Load() > sent+300 }) {
		t.Errorf("only %d requests sent in 20s after the drain, want 300", res.sent.Load()-sent)
	}
	close(stop)
	res.wait()
	t.Logf("remove target by reload under load: sent=%d failed=%d; c served %d (then %d after drain)",
		res.sent.Load(), res.failed.Load(), cAtReload, bs[2].hits.Load()-cAtReload)
	if f := res.failed.Load(); f != 0 {
		t.Errorf("%d requests failed (first: %v); want 0", f, res.firstErr.Load())
	}
	if extra := bs[2].hits.Load() - cAtReload; extra > 0 {
		t.Errorf("removed target received %d requests after it was drained", extra)
	}
}

// TestP2CEWMAAvoidsSlowBackend: with one slow backend, p2c_ewma sends it
// measurably less traffic than round_robin does.
func TestP2CEWMAAvoidsSlowBackend(t *testing.T) {
	t.Parallel()
	share := func(balance string) float64 {
		bs := []*lbBackend{newLBBackend(t, "a"), newLBBackend(t, "b"), newLBBackend(t, "slow")}
		bs[2].delay.Store(int64(40 * time.Millisecond))
		addr := freeAddr(t)
		startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: %s}]
access_log: {enabled: false}
upstreams:
  - name: pool
    balance: %s
    targets: [{url: "http://%s"}, {url: "http://%s"}, {url: "http://%s"}]
routes:
  - name: all
    backend: {upstream: pool}
`, addr, balance, bs[0].addr, bs[1].addr, bs[2].addr))
		stop := make(chan struct{})
		res := runLoad(t, "http://"+addr+"/x", 6, 400, stop)
		res.wait()
		total := res.count("a") + res.count("b") + res.count("slow")
		if res.failed.Load() != 0 || total == 0 {
			t.Fatalf("%s: %d failed of %d (%v)", balance, res.failed.Load(), res.sent.Load(), res.firstErr.Load())
		}
		s := float64(res.count("slow")) / float64(total)
		t.Logf("%s: slow backend got %d of %d requests (%.1f%%)", balance, res.count("slow"), total, 100*s)
		return s
	}
	rr, p2c := share("round_robin"), share("p2c_ewma")
	if p2c >= rr/2 {
		t.Errorf("p2c_ewma sent the slow backend %.1f%% of requests, round_robin %.1f%%; want p2c_ewma well below", 100*p2c, 100*rr)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestSlowStartAfterReadmission: a backend that died comes back; the
// health check readmits it and slow start ramps its share.
//
// A share is a count over time, so the windows are sized by samples, not
// only by the clock: each lasts until it has enough responses (bounded),
// and the ramp (6 s) is long enough that a late start of the early window
// on a loaded machine still sees a small share (the factor is 10% for the
// first 0.6 s and 25% at 1.5 s, i.e. a share of at most ≈11%, against a
// limit of 20%), while the late window starts after the ramp has ended
// for certain (the readmission is observed after it happened).
func TestSlowStartAfterReadmission(t *testing.T) {
	t.Parallel()
	bs := []*lbBackend{newLBBackend(t, "a"), newLBBackend(t, "b"), newLBBackend(t, "c")}
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: %s}]
access_log: {enabled: false}
upstreams:
  - name: pool
    targets: [{url: "http://%s"}, {url: "http://%s"}, {url: "http://%s"}]
    health_check: {path: /healthz, interval: 100ms, timeout: 1s, unhealthy_threshold: 2, healthy_threshold: 2}
    slow_start: 6s
routes:
  - name: all
    backend: {upstream: pool}
`, addr, bs[0].addr, bs[1].addr, bs[2].addr))
	healthy := fmt.Sprintf(`gatehouse_upstream_target_healthy{target="%s",upstream="pool"}`, bs[1].addr)
	isHealthy := func(want float64) func() bool {
		return func() bool { v, ok := metricValue(g.metrics(), healthy); return ok && v == want }
	}
	bs[1].stop()
	if !waitFor(5*time.Second, isHealthy(0)) {
		t.Fatal("b not taken out of rotation")
	}
	stop := make(chan struct{})
	// Bounded by stop, not by a count: a fast machine would otherwise
	// finish the load before the late window (seen: 80000 sent, 0 in it).
	res := runLoad(t, "http://"+addr+"/x", 4, math.MaxInt32, stop)
	bs[1].start(t)
	if !waitFor(5*time.Second, isHealthy(1)) {
		t.Fatal("b not readmitted after it came back")
	}
	readmitted := time.Now()
	// share is b's share of the responses from now until at least min
	// have come back and minDur has passed, or until maxDur.
	share := func(min int64, minDur, maxDur time.Duration) float64 {
		a0, b0, c0 := bs[0].hits.Load(), bs[1].hits.Load(), bs[2].hits.Load()
		start := time.Now()
		var a, b, c int64
		waitFor(maxDur, func() bool {
			a, b, c = bs[0].hits.Load()-a0, bs[1].hits.Load()-b0, bs[2].hits.Load()-c0
			return a+b+c >= min && time.Since(start) >= minDur
		})
		a, b, c = bs[0].hits.Load()-a0, bs[1].hits.Load()-b0, bs[2].hits.Load()-c0
		if a+b+c < 50 {
			t.Fatalf("only %d responses in %v: too few to measure a share (sent=%d failed=%d)", a+b+c, time.Since(start), res.sent.Load(), res.failed.Load())
		}
		return float64(b) / float64(a+b+c)
	}
	early := share(200, 300*time.Millisecond, 1500*time.Millisecond)
	// The ramp ends 6 s after the readmission, which happened before it
	// was observed; the wait is for that clock, there is no event.
	time.Sleep(time.Until(readmitted.Add(6500 * time.Millisecond)))
	late := share(300, 500*time.Millisecond, 10*time.Second)
	close(stop)
	res.wait()
	t.Logf("slow start: readmitted target's share %.1f%% at its start, %.1f%% after the 6s window; sent=%d failed=%d",
		100*early, 100*late, res.sent.Load(), res.failed.Load())
	if early >= 0.2 || late < 0.25 {
		t.Errorf("share early %.2f (want < 0.20) late %.2f (want ≈ 0.33)", early, late)
	}
	if res.failed.Load() != 0 {
		t.Errorf("%d requests failed (first: %v)", res.failed.Load(), res.firstErr.Load())
	}
}

// TestStickySessions: the cookie keeps a client on one target and moves
// it (re-pinning) when that target dies.
func TestStickySessions(t *testing.T) {
	t.Parallel()
	bs := []*lbBackend{newLBBackend(t, "a"), newLBBackend(t, "b"), newLBBackend(t, "c")}
	byName := map[string]*lbBackend{"a": bs[0], "b": bs[1], "c": bs[2]}
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: %s}]
access_log: {enabled: false}
upstreams:
  - name: pool
    targets: [{url: "http://%s"}, {url: "http://%s"}, {url: "http://%s"}]
    sticky: {cookie: route, ttl: 1h}
routes:
  - name: all
    backend: {upstream: pool}
`, addr, bs[0].addr, bs[1].addr, bs[2].addr))
	c := httpClient(t)
	resp, _ := get(t, c, "http://"+addr+"/", "")
	cookie := resp.Header.Get("Set-Cookie")
	pinned := resp.Header.Get("X-Backend")
	if !strings.HasPrefix(cookie, "route=") || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "Max-Age=3600") {
		t.Fatalf("first response Set-Cookie %q: want route=...; Max-Age=3600; HttpOnly", cookie)
	}
	value := strings.SplitN(strings.SplitN(cookie, ";", 2)[0], "=", 2)[1]
	for i := 0; i < 30; i++ {
		resp, _ := get(t, c, "http://"+addr+"/", "", "Cookie", "route="+value)
		if got := resp.Header.Get("X-Backend"); got != pinned {
			t.Fatalf("request %d with the cookie went to %s, pinned to %s", i, got, pinned)
		}
	}
	byName[pinned].stop()
	resp, _ = get(t, c, "http://"+addr+"/", "", "Cookie", "route="+value)
	moved := resp.Header.Get("X-Backend")
	repin := resp.Header.Get("Set-Cookie")
	if resp.StatusCode != 200 || moved == pinned || repin == "" {
		t.Fatalf("after %s died: status %d backend %q Set-Cookie %q; want 200 from another backend and a new cookie", pinned, resp.StatusCode, moved, repin)
	}
	value = strings.SplitN(strings.SplitN(repin, ";", 2)[0], "=", 2)[1]
	for i := 0; i < 10; i++ {
		resp, _ := get(t, c, "http://"+addr+"/", "", "Cookie", "route="+value)
		if got := resp.Header.Get("X-Backend"); got != moved {
			t.Fatalf("re-pinned client went to %s, want %s", got, moved)
		}
	}
	t.Logf("sticky: pinned to %s for 31 requests, moved to %s when it died", pinned, moved)
}

// TestCircuitBreaker: at the configured in-flight limit, the next request
// gets 503 problem+json at once.
func TestCircuitBreaker(t *testing.T) {
	t.Parallel()
	b := newLBBackend(t, "a")
	b.hold = make(chan struct{})
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners: [{name: web, address: %s}]
upstreams:
  - name: pool
    targets: [{url: "http://%s"}]
    circuit_breaker: {max_in_flight: 2, max_pending: 0}
routes:
  - name: all
    backend: {upstream: pool}
`, addr, b.addr))
	c := httpClient(t)
	var wg sync.WaitGroup
	codes := make(chan int, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get("http://" + addr + "/hold")
			if err != nil {
				codes <- -1
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	if !waitFor(5*time.Second, func() bool { return b.inflight.Load() == 2 }) {
		t.Fatal("the two held requests did not reach the backend")
	}
	start := time.Now()
	resp, body := get(t, c, "http://"+addr+"/x", "")
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("third request at max_in_flight=2: %d %q %q, want 503 problem+json", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("overflow answered after %v, want at once", d)
	}
	close(b.hold)
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != 200 {
			t.Errorf("held request finished with %d, want 200", code)
		}
	}
	if resp, _ := get(t, c, "http://"+addr+"/x", ""); resp.StatusCode != 200 {
		t.Errorf("after the load drained: %d, want 200", resp.StatusCode)
	}
	overflow := `gatehouse_upstream_circuit_breaker_overflow_total{upstream="pool"}`
	m := g.waitMetric(overflow, 1, 5*time.Second)
	if v, ok := metricValue(m, overflow); !ok || v != 1 {
		t.Errorf("overflow counter %v (found %v), want 1; metrics:\n%s", v, ok, grepLines(m, "circuit"))
	}
}
