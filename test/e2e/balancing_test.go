package e2e

import (
	"fmt"
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
	name  string
	addr  string
	delay atomic.Int64 // nanoseconds
	hits  atomic.Int64
	mu    sync.Mutex
	srv   *httptest.Server
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
    health_check: {path: /healthz, interval: 100ms, timeout: 200ms, unhealthy_threshold: 2, healthy_threshold: 1}
routes:
  - name: all
    backend: {upstream: pool}
`, addr, bs[0].addr, bs[1].addr, bs[2].addr))

	stop := make(chan struct{})
	res := runLoad(t, "http://"+addr+"/x", 6, 5000, stop)
	waitFor(10*time.Second, func() bool { return res.count("b") > 50 })
	bs[1].stop()
	killed := time.Now()
	healthy := fmt.Sprintf(`gatehouse_upstream_target_healthy{target="%s",upstream="pool"}`, bs[1].addr)
	if !waitFor(5*time.Second, func() bool { v, ok := metricValue(g.metrics(), healthy); return ok && v == 0 }) {
		t.Errorf("target b still healthy 5s after it died; metrics:\n%s", grepLines(g.metrics(), "target_healthy"))
	}
	left := time.Since(killed)
	// interval × threshold = 200ms; allow for the timeout and a busy machine.
	if left > 2*time.Second {
		t.Errorf("target b left rotation after %v, want within ~interval × unhealthy_threshold (200ms)", left)
	}
	afterEject := res.sent.Load()
	waitFor(10*time.Second, func() bool { return res.sent.Load() > afterEject+500 })
	close(stop)
	res.wait()
	t.Logf("backend death under load: sent=%d failed=%d; a=%d b=%d c=%d; out of rotation after %v",
		res.sent.Load(), res.failed.Load(), res.count("a"), res.count("b"), res.count("c"), left.Round(time.Millisecond))
	if f := res.failed.Load(); f != 0 {
		t.Errorf("%d of %d requests failed (first: %v); want 0", f, res.sent.Load(), res.firstErr.Load())
	}
	retried := g.countLog("retry")
	t.Logf("gateway logged %d retry lines", retried)
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
	waitFor(10*time.Second, func() bool { return res.count("c") > 20 })
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
	waitFor(10*time.Second, func() bool { return res.sent.Load() > sent+300 })
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
