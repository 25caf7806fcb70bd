package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Traffic control across instances: three gateway processes share one
// real redis-server.

// trafficFleet starts n gateways on the same configuration (each with
// its own listener and admin port) sharing the Redis at redisAddr.
func trafficFleet(t *testing.T, n int, redisAddr, routes string) ([]*gw, []string) {
	t.Helper()
	var gws []*gw
	var addrs []string
	for range n {
		addr := freeAddr(t)
		g := authStart(t, fmt.Sprintf(`
listeners:
  - {name: public, address: "%s"}
store:
  redis: {addrs: ["%s"], timeout: 1s}
  instances: %d
%s`, addr, redisAddr, n, routes))
		gws = append(gws, g)
		addrs = append(addrs, addr)
	}
	return gws, addrs
}

// hammer sends total GETs spread over the addresses from workers
// goroutines and returns the count of each status.
func hammer(t *testing.T, addrs []string, path string, total, workers int) map[int]int {
	t.Helper()
	c := httpClient(t)
	var next atomic.Int64
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(total) {
					return
				}
				// Request i goes to instance i mod n whichever worker
				// sends it, so each instance gets its exact share
				// however the workers are scheduled.
				resp, err := c.Get("http://" + addrs[int(i)%len(addrs)] + path)
				code := -1
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				counts[code]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	c.CloseIdleConnections() // so the gateways' goroutine counts settle
	return counts
}

// goroutineCount is g's go_goroutines metric.
func goroutineCount(g *gw) float64 {
	v, _ := metricValue(g.metrics(), "go_goroutines")
	return v
}

// TestTrafficSharedRateLimit: a global limit of 100 per hour enforced by
// three instances together; Redis stopping mid-test: fail-open routes
// serve, fail-closed routes answer 503 problem+json; Redis back: limits
// are enforced again without a restart.
func TestTrafficSharedRateLimit(t *testing.T) {
	rd := redistest.Start(t)
	routes := `
routes:
  - name: global
    match: {path: {prefix: /global}}
    respond: {status: 200, body: "ok"}
    policies:
      rate_limit: {limit: 100, window: 1h, key: route, fail: open, timeout: 2s}
  - name: strict
    match: {path: {prefix: /strict}}
    respond: {status: 200, body: "ok"}
    policies:
      rate_limit: {limit: 100, window: 1h, key: route, fail: closed, timeout: 2s}
  - name: local
    match: {path: {prefix: /local}}
    respond: {status: 200, body: "ok"}
    policies:
      rate_limit: {limit: 30, window: 1h, key: route, fail: local, timeout: 2s}
`
	// Windows are epoch-aligned: keep the test's bursts (normally a few
	// seconds) out of the last minutes of the hour.
	clearOfBoundary(time.Hour, time.Minute)
	gws, addrs := trafficFleet(t, 3, rd.Addr, routes)

	// The window is an hour so that the bursts below, however slowly a
	// loaded machine runs them, stay inside one window: a sliding window
	// crossed mid-burst re-admits in proportion to the time past the
	// boundary, which over a burst of even 30 s is under one request.
	// The routes' store timeout is generous (2s, not the default 20ms):
	// under the race detector on busy cores a Redis round trip can take
	// tens of milliseconds or more, and a fail-open timeout would admit
	// extra.
	counts := hammer(t, addrs, "/global", 600, 30)
	accepted := counts[200]
	t.Logf("shared limit 100/1h over 3 instances, 600 requests: %d accepted, %d refused (429), other %v", accepted, counts[429], counts)
	if accepted < 98 || accepted > 102 || counts[200]+counts[429] != 600 {
		t.Fatalf("accepted %d of 600 (want 100 ± 2%%): %v", accepted, counts)
	}

	before := goroutineCount(gws[0])
	rd.Stop()
	start := time.Now()
	open := hammer(t, addrs, "/global", 60, 6)
	closed := hammer(t, addrs, "/strict", 60, 6)
	local := hammer(t, addrs, "/local", 90, 6)
	took := time.Since(start)
	t.Logf("redis down: fail open %v, fail closed %v, fail local %v (210 requests in %v)", open, closed, local, took)
	if open[200] != 60 {
		t.Errorf("fail-open route with Redis down: %v, want 60×200", open)
	}
	if closed[503] != 60 {
		t.Errorf("fail-closed route with Redis down: %v, want 60×503", closed)
	}
	// Each instance enforces 30 ÷ 3 = 10 per window in memory.
	if local[200] < 28 || local[200] > 32 || local[429] == 0 {
		t.Errorf("fail-local route with Redis down: %v, want ≈30 accepted over 3 instances", local)
	}
	resp, body := get(t, httpClient(t), "http://"+addrs[0]+"/strict", "")
	if resp.StatusCode != 503 || !isProblem(resp) || resp.Header.Get("Retry-After") == "" {
		t.Errorf("fail-closed answer: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	for _, g := range gws {
		if !g.waitLog("rate limit store", 5*time.Second) && !g.waitLog("store", 0) {
			t.Errorf("no log line about the store failure (the gateway log is printed at cleanup)")
		}
		if strings.Contains(g.logs(), "panic") {
			t.Fatalf("panic:\n%s", g.logs())
		}
	}

	rd.Restart()
	// The breakers close after their open period; the shared limit for
	// /strict then applies again (a fresh window: 100 allowed, then 429).
	if !waitFor(10*time.Second, func() bool {
		r, _ := get(t, httpClient(t), "http://"+addrs[1]+"/strict", "")
		return r.StatusCode == 200
	}) {
		t.Fatal("fail-closed route did not recover after Redis came back")
	}
	again := hammer(t, addrs, "/strict", 300, 15)
	if again[429] == 0 || again[200] > 102 {
		t.Errorf("after recovery: %v, want the shared limit enforced", again)
	}
	// No goroutine leak from the outage: idle connections settle back.
	if !waitFor(10*time.Second, func() bool { return goroutineCount(gws[0]) <= before+10 }) {
		t.Errorf("goroutines %v after the outage, %v before", goroutineCount(gws[0]), before)
	}
	t.Logf("goroutines of instance 0: %v before the outage, %v after", before, goroutineCount(gws[0]))
	m := gws[0].metrics()
	if v, ok := metricValue(m, `gatehouse_limit_store_errors_total{policy="rate_limit",route="global"}`); !ok || v == 0 {
		t.Errorf("store errors not counted:\n%s", grepLines(m, "gatehouse_limit"))
	}
}

// TestTrafficQuotaSurvivesRestart: quota counters in the embedded store
// outlive a graceful restart; the admin API reads and resets them.
func TestTrafficQuotaSurvivesRestart(t *testing.T) {
	// A daily quota resets at 00:00 UTC; all six calls must fall in one day.
	clearOfBoundary(24*time.Hour, 2*time.Minute)
	addr := freeAddr(t)
	g := authStart(t, fmt.Sprintf(`
listeners:
  - {name: public, address: "%s"}
data_dir: %s
plans:
  - {name: trial, quota: {limit: 5, period: day}}
consumers:
  - {name: alice, plan: trial, api_keys: [{key_hash: "%s"}]}
routes:
  - name: api
    respond: {status: 200, body: "ok"}
    policies:
      api_key: {}
      quota: {use_plan: true}
`, addr, t.TempDir(), authSHA256("alice-key-0123456789abcdef")))
	c := httpClient(t)
	call := func() *http.Response {
		resp, _ := get(t, c, "http://"+addr+"/", "", "X-Api-Key", "alice-key-0123456789abcdef")
		return resp
	}
	for i := range 3 {
		if r := call(); r.StatusCode != 200 || r.Header.Get("X-Quota-Remaining") != strconv.Itoa(4-i) {
			t.Fatalf("call %d: %d remaining %q", i, r.StatusCode, r.Header.Get("X-Quota-Remaining"))
		}
	}
	g = authRestart(t, g)
	c = httpClient(t)
	for range 2 {
		if r := call(); r.StatusCode != 200 {
			t.Fatalf("after restart: %d", r.StatusCode)
		}
	}
	r := call()
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("6th call of a 5/day quota after a restart: %d (the restart lost counts)", r.StatusCode)
	}
	resp, body := authAdmin(t, c, g, "GET", "/consumers/alice/usage", authAdminToken)
	if resp.StatusCode != 200 || !strings.Contains(body, `"used": 5`) || !strings.Contains(body, `"limit": 5`) {
		t.Fatalf("usage: %d %s", resp.StatusCode, body)
	}
	if resp, _ := authAdmin(t, c, g, "DELETE", "/consumers/alice/usage", authAdminToken); resp.StatusCode != 204 {
		t.Fatalf("reset: %d", resp.StatusCode)
	}
	if r := call(); r.StatusCode != 200 {
		t.Fatalf("after reset: %d", r.StatusCode)
	}
}

// cacheOrigin is an upstream whose answers the cache tests control.
type cacheOrigin struct {
	srv  *httptest.Server
	hits atomic.Int64
	gate chan struct{} // when not nil, requests wait for it to close
	fail atomic.Bool   // answer 503
	cc   atomic.Value  // Cache-Control to send
	etag string
}

func newCacheOrigin(t *testing.T) *cacheOrigin {
	o := &cacheOrigin{etag: `"v1"`}
	o.cc.Store("max-age=60")
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.hits.Add(1)
		if g := o.gate; g != nil {
			<-g
		}
		if o.fail.Load() {
			w.WriteHeader(503)
			return
		}
		w.Header().Set("ETag", o.etag)
		w.Header().Set("Cache-Control", o.cc.Load().(string))
		if r.Header.Get("If-None-Match") == o.etag {
			w.WriteHeader(304)
			return
		}
		fmt.Fprintf(w, "body of %s #%d", r.URL.Path, o.hits.Load())
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// TestTrafficCache: miss, hit, revalidation, stale-if-error, single-flight
// and a purge seen by every instance sharing Redis.
func TestTrafficCache(t *testing.T) {
	rd := redistest.Start(t)
	o := newCacheOrigin(t)
	routes := fmt.Sprintf(`
upstreams:
  - {name: origin, targets: [{url: "%s"}]}
routes:
  - name: cached
    backend: {upstream: origin}
    policies:
      cache: {stale_if_error: 1m}
`, o.srv.URL)
	gws, addrs := trafficFleet(t, 2, rd.Addr, routes)
	c := httpClient(t)
	xc := func(addr, path string) (string, string) {
		resp, body := get(t, c, "http://"+addr+path, "api.example.com")
		return resp.Header.Get("X-Cache"), body
	}
	// By design a cache read that Redis does not answer within the
	// gateway's bound (50 ms) is served as a MISS, and the instance logs
	// "cache backend failing" (once per streak, until "recovered"). On a
	// loaded machine that happens; a MISS is accepted only when it is
	// explained that way, never otherwise.
	const failing, recovered = "cache backend failing", "cache backend recovered"
	explained := func(g *gw, failingBefore int) bool {
		return waitFor(2*time.Second, func() bool {
			f := g.countLog(failing)
			return f > failingBefore || f > g.countLog(recovered)
		})
	}
	// sharedHit stores a fresh path under base through instance 0 and
	// reads it through instance 1, which must answer HIT with instance
	// 0's body and without an upstream request. Instance 0 writes the
	// entry after its client has the response, so the read waits for the
	// write to reach Redis, not for luck. A MISS explained by a backend
	// timeout is retried on another fresh path (bounded).
	sharedHit := func(base string) {
		t.Helper()
		for attempt := range 5 {
			path := fmt.Sprintf("%s-%d", base, attempt)
			before := o.hits.Load()
			if s, _ := xc(addrs[0], path); s != "MISS" {
				t.Fatalf("first %s: %s", path, s)
			}
			waitCached(t, rd.Addr, "cached", path)
			f := gws[1].countLog(failing)
			s, body := xc(addrs[1], path)
			if s == "HIT" {
				if want := fmt.Sprintf("body of %s #%d", path, before+1); body != want {
					t.Fatalf("second instance (shared cache): HIT %q, want %q", body, want)
				}
				if n := o.hits.Load() - before; n != 1 {
					t.Fatalf("origin hits %d for one path read through two instances, want 1", n)
				}
				return
			}
			if s != "MISS" || !explained(gws[1], f) {
				t.Fatalf("second instance (shared cache): %s %q, the entry being in Redis", s, body)
			}
			t.Logf("%s: instance 1's cache read timed out (logged); retrying on a fresh path", path)
		}
		t.Fatalf("5 cross-instance reads in a row timed out at the cache backend")
	}
	sharedHit("/a")

	// Single-flight: 100 concurrent misses make one upstream request.
	o.gate = make(chan struct{})
	var wg sync.WaitGroup
	var served atomic.Int64
	before := o.hits.Load()
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := c.Get("http://" + addrs[0] + "/burst")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 && strings.HasPrefix(string(b), "body of /burst") {
					served.Add(1)
				}
			}
		}()
	}
	// All 100 are inside the gateway (one at the origin, 99 waiting on it).
	if !waitFor(10*time.Second, func() bool {
		v, _ := metricValue(gws[0].metrics(), "gatehouse_http_requests_in_flight")
		return v >= 100 && o.hits.Load() > before
	}) {
		t.Fatalf("the 100 requests did not all arrive")
	}
	close(o.gate)
	wg.Wait()
	o.gate = nil
	if n := o.hits.Load() - before; n != 1 || served.Load() != 100 {
		t.Fatalf("100 concurrent misses: %d upstream requests, %d served", n, served.Load())
	}

	// Stale-if-error: a stale entry is served when the origin fails.
	// The origin fails from the start: while the entry is fresh it is a
	// HIT without an upstream request; once its max-age has passed the
	// failed refetch is answered from the stale entry. Poll for that
	// instead of sleeping through the max-age.
	o.cc.Store("max-age=1")
	if s, _ := xc(addrs[0], "/s"); s != "MISS" {
		t.Fatalf("first /s: %s", s)
	}
	waitCached(t, rd.Addr, "cached", "/s")
	o.fail.Store(true)
	var last, lastBody string
	if !waitFor(15*time.Second, func() bool {
		f := gws[0].countLog(failing)
		last, lastBody = xc(addrs[0], "/s")
		if last != "HIT" && last != "STALE" && (last != "MISS" || !explained(gws[0], f)) {
			t.Fatalf("stale-if-error: %s %q while the entry aged (want HIT, then STALE)", last, lastBody)
		}
		return last == "STALE"
	}) {
		t.Fatalf("stale-if-error: still %s 15s after a max-age=1 entry was stored", last)
	}
	if !strings.HasPrefix(lastBody, "body of /s") {
		t.Errorf("stale-if-error body: %q", lastBody)
	}
	o.fail.Store(false)
	// Revalidation: the stale entry has an ETag; the origin answers 304.
	f := gws[0].countLog(failing)
	if s, _ := xc(addrs[0], "/s"); s != "REVALIDATED" && s != "HIT" && (s != "MISS" || !explained(gws[0], f)) {
		t.Errorf("revalidation: %s", s)
	}

	// Purge through instance 0 is seen by instance 1.
	o.cc.Store("max-age=60")
	sharedHit("/p/x")
	stored := cachedKeys(t, rd.Addr, "cached", "/p/")
	resp, body := authAdminBody(t, c, gws[0], "POST", "/cache/purge", authAdminToken, `{"route": "cached", "prefix": "/p/"}`)
	if resp.StatusCode != 200 || !strings.Contains(body, fmt.Sprintf(`"purged": %d`, stored)) {
		t.Fatalf("purge: %d %s, want %d purged", resp.StatusCode, body, stored)
	}
	if n := cachedKeys(t, rd.Addr, "cached", "/p/"); n != 0 {
		t.Errorf("%d entries under /p/ left in Redis after the purge", n)
	}
	if s, _ := xc(addrs[1], "/p/x-0"); s != "MISS" {
		t.Errorf("after purge on the other instance: %s", s)
	}
}

// waitCached polls the shared Redis until route's cache holds an entry
// for GET path (any host, no query). A gateway writes a response to the
// cache after its client has it, so another instance that reads at once
// may find nothing yet; the test waits for the write it depends on. It
// fails if the entry is never stored.
func waitCached(t *testing.T, redisAddr, route, path string) {
	t.Helper()
	// Keys hold the cache namespace, then "path?query host method" (see
	// internal/policy/cache/key.go); '?' is escaped for the glob.
	pattern := "*cache:" + route + ":" + path + `\? *`
	var err error
	if !waitFor(10*time.Second, func() bool {
		var n int
		n, err = redisKeys(redisAddr, pattern)
		return err == nil && n > 0
	}) {
		t.Fatalf("no cache entry matching %q in Redis 10s after the response (last error: %v)", pattern, err)
	}
}

// cachedKeys counts route's cache entries in Redis whose path starts
// with prefix.
func cachedKeys(t *testing.T, redisAddr, route, prefix string) int {
	t.Helper()
	n, err := redisKeys(redisAddr, "*cache:"+route+":"+prefix+"*")
	if err != nil {
		t.Fatalf("redis KEYS: %v", err)
	}
	return n
}

// redisKeys counts the keys matching the glob pattern.
func redisKeys(addr, pattern string) (int, error) {
	rc := redis.NewClient(&redis.Options{Addr: addr})
	defer rc.Close()
	keys, err := rc.Keys(context.Background(), pattern).Result()
	return len(keys), err
}

// TestTrafficCacheInMemory: without Redis the cache lives in the
// process's bounded LRU; results are counted by route.
func TestTrafficCacheInMemory(t *testing.T) {
	o := newCacheOrigin(t)
	addr := freeAddr(t)
	g := authStart(t, oneUpstream(addr, o.srv.URL, `
routes:
  - name: mem
    backend: {upstream: be}
    policies:
      cache: {}
`))
	c := httpClient(t)
	for i, want := range []string{"MISS", "HIT", "HIT"} {
		resp, body := get(t, c, "http://"+addr+"/m?b=2&a=1", "")
		if got := resp.Header.Get("X-Cache"); got != want || body != "body of /m #1" {
			t.Fatalf("request %d: X-Cache %s, body %q", i, got, body)
		}
	}
	// The query is normalised: the same parameters in another order hit.
	if resp, _ := get(t, c, "http://"+addr+"/m?a=1&b=2", ""); resp.Header.Get("X-Cache") != "HIT" {
		t.Errorf("reordered query: %s", resp.Header.Get("X-Cache"))
	}
	if n := o.hits.Load(); n != 1 {
		t.Errorf("origin hits %d", n)
	}
	// Counted after the response went out: wait for the count, then check
	// it is exact.
	hits := `gatehouse_cache_requests_total{result="HIT",route="mem"}`
	m := g.waitMetric(hits, 3, 5*time.Second)
	if v, _ := metricValue(m, hits); v != 3 {
		t.Errorf("HIT count %v:\n%s", v, grepLines(m, "gatehouse_cache"))
	}
}

// TestTrafficReloadKeepsState: a reload that adds a rate limit applies
// it at once, and keys issued at run time (the open key store) survive.
func TestTrafficReloadKeepsState(t *testing.T) {
	addr := freeAddr(t)
	dataDir := t.TempDir()
	// Reloads by SIGHUP only: the file watcher would reload the same
	// rewrite a second time, at a moment of its choosing, and the reload
	// count waited for below would skip past the value it expects.
	base := fmt.Sprintf(`
listeners:
  - {name: public, address: "%s"}
data_dir: %s
reload: {watch: false}
consumers:
  - {name: alice}
routes:
  - name: api
    respond: {status: 200, body: "ok"}
    policies:
      api_key: {}
`, addr, dataDir)
	g := authStart(t, base)
	c := httpClient(t)
	k := authIssueKey(t, c, g, "alice")
	call := func() int {
		resp, _ := get(t, c, "http://"+addr+"/", "", "X-Api-Key", k.Key)
		return resp.StatusCode
	}
	if code := call(); code != 200 {
		t.Fatalf("issued key before reload: %d", code)
	}
	// An hour's window, away from its end: three calls straddling a
	// boundary of a sliding window could see the third admitted.
	clearOfBoundary(time.Hour, time.Minute)
	authRewrite(t, g, base+"      rate_limit: {limit: 2, window: 1h, key: consumer}\n")
	g.reload()
	reloads := `gatehouse_config_reloads_total{result="ok"}`
	if v, _ := metricValue(g.waitMetric(reloads, 2, 10*time.Second), reloads); v != 2 {
		t.Fatalf("reloads %v, want 2: one at start, one on SIGHUP (the gateway log is printed at cleanup)", v)
	}
	codes := []int{call(), call(), call()}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != 429 {
		t.Fatalf("after the reload added 2/h: %v (the issued key must still work, the third call be limited)", codes)
	}
}

// TestTrafficReloadsDoNotLeak: reloading a configuration that uses every
// policy many times leaves the goroutine count where it was.
func TestTrafficReloadsDoNotLeak(t *testing.T) {
	rd := redistest.Start(t)
	o := newCacheOrigin(t)
	addr := freeAddr(t)
	jwks := newAuthJWKS(t)
	dataDir := t.TempDir()
	// Every reload changes the Redis client settings and the JWT
	// provider, so both are replaced and the old ones must be closed.
	// The Redis timeout (1 s and up) is long enough for a loaded machine:
	// the requests between reloads must succeed. Reloads are by SIGHUP
	// only, one per step: the file watcher would add reloads of its own
	// and the count waited for below would skip past its value.
	cfg := func(n int) string {
		return fmt.Sprintf(`
listeners:
  - {name: public, address: "%s"}
data_dir: %s
reload: {watch: false}
shutdown: {grace_period: 1s}
store:
  redis: {addrs: ["%s"], timeout: %dms}
consumers:
  - {name: alice, api_keys: [{key_hash: "%s"}]}
upstreams:
  - {name: origin, targets: [{url: "%s"}]}
routes:
  - name: all
    backend: {upstream: origin}
    timeout: %ds
    policies:
      ip_filter: {allow: [127.0.0.0/8]}
      cors: {allow_origins: ["https://a.example"]}
      api_key: {}
      jwt: {jwks_url: "%s", jwks_refresh: %dm}
      rate_limit: {limit: 1000, window: 1s, key: consumer}
      concurrency_limit: {max: 10}
      quota: {limit: 100000, period: day}
      cache: {ttl: 1m}
`, addr, dataDir, rd.Addr, 1000+n, authSHA256("alice-key-0123456789abcdef"), o.srv.URL, 10+n, jwks.url, 1+n)
	}
	g := authStart(t, cfg(0))
	c := httpClient(t)
	use := func() {
		resp, _ := get(t, c, "http://"+addr+"/x", "", "X-Api-Key", "alice-key-0123456789abcdef")
		if resp.StatusCode != 200 {
			t.Fatalf("request: %d", resp.StatusCode)
		}
	}
	use()
	c.CloseIdleConnections()
	before := goroutineCount(g)
	const reloads = 15
	for i := 1; i <= reloads; i++ {
		authRewrite(t, g, cfg(i))
		g.reload()
		reloads := `gatehouse_config_reloads_total{result="ok"}`
		if v, _ := metricValue(g.waitMetric(reloads, float64(i+1), 10*time.Second), reloads); v != float64(i+1) {
			t.Fatalf("reload %d: %v reloads, want %d (the gateway log is printed at cleanup)", i, v, i+1)
		}
		use()
	}
	c.CloseIdleConnections()
	if !waitFor(10*time.Second, func() bool { return goroutineCount(g) <= before+5 }) {
		t.Fatalf("goroutines %v after %d reloads, %v before", goroutineCount(g), reloads, before)
	}
	t.Logf("goroutines: %v before, %v after %d reloads", before, goroutineCount(g), reloads)
}

// TestTrafficCacheRevalidation runs the conformance behaviours through the
// binary: a response that is stale on arrival but carries an ETag is kept
// and revalidated with a conditional request (not fetched in full), and
// the route's own targeted field (cache_control_field) governs caching
// and is not forwarded.
func TestTrafficCacheRevalidation(t *testing.T) {
	var full, conditional atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/targeted" {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Gatehouse-Cache-Control", "max-age=60")
			io.WriteString(w, "targeted")
			return
		}
		w.Header().Set("Cache-Control", "max-age=0")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		full.Add(1)
		io.WriteString(w, "validated")
	}))
	t.Cleanup(origin.Close)
	addr := freeAddr(t)
	authStart(t, oneUpstream(addr, origin.URL, `
routes:
  - name: mem
    backend: {upstream: be}
    policies:
      cache: {cache_control_field: Gatehouse-Cache-Control, keep_for_revalidation: 1h}
`))
	c := httpClient(t)
	for i, want := range []string{"MISS", "REVALIDATED", "REVALIDATED"} {
		resp, body := get(t, c, "http://"+addr+"/v", "")
		if got := resp.Header.Get("X-Cache"); got != want || body != "validated" {
			t.Fatalf("request %d: X-Cache %s, body %q", i, got, body)
		}
	}
	if full.Load() != 1 || conditional.Load() != 2 {
		t.Fatalf("origin: %d full, %d conditional; want 1 and 2", full.Load(), conditional.Load())
	}
	for i, want := range []string{"MISS", "HIT"} {
		resp, body := get(t, c, "http://"+addr+"/targeted", "")
		if got := resp.Header.Get("X-Cache"); got != want || body != "targeted" {
			t.Fatalf("targeted %d: X-Cache %s, body %q", i, got, body)
		}
		if v, ok := resp.Header["Gatehouse-Cache-Control"]; ok {
			t.Fatalf("targeted %d: own field forwarded: %q", i, v)
		}
	}
}
