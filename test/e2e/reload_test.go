package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// reloadConfig is the configuration TestReloadUnderLoad steps through.
func reloadConfig(addr, version string, targets []string, extraRoute bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
listeners:
  - name: web
    address: %s
shutdown: {grace_period: 5s}
upstreams:
  - name: pool
    targets:
`, addr)
	for _, u := range targets {
		fmt.Fprintf(&b, "      - {url: %s}\n", u)
	}
	b.WriteString("routes:\n")
	if extraRoute {
		fmt.Fprintf(&b, `  - name: extra
    match: {path: {exact: /extra}}
    respond: {status: 200, body: extra-%s}
`, version)
	}
	fmt.Fprintf(&b, `  - name: main
    filters:
      - response_headers: {set: {X-Config-Version: %s}}
    backend: {upstream: pool}
`, version)
	return b.String()
}

// TestReloadUnderLoad rewrites the configuration 5 times (a response
// header value, the upstream's targets, an added route) and sends SIGHUP
// each time while 6 clients send GETs in a loop; no request may fail and
// every change must take effect.
func TestReloadUnderLoad(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	addr := freeAddr(t)
	g := startGateway(t, reloadConfig(addr, "v1", []string{a.url}, false))

	const (
		workers      = 6
		perWorkerMax = 20000
		loadLimit    = 2 * time.Minute // hard bound, normally ~5 s; a loaded machine must not end the load before the last step
	)
	tr := &http.Transport{MaxIdleConnsPerHost: workers, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	var sent, failed, non2xx atomic.Int64
	var firstErrs sync.Map // one sample per kind
	stop := make(chan struct{})
	deadline := time.Now().Add(loadLimit)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorkerMax && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := client.Get("http://" + addr + "/load")
				if err != nil {
					failed.Add(1)
					firstErrs.LoadOrStore("error", err.Error())
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode < 200 || resp.StatusCode > 299 {
					non2xx.Add(1)
					firstErrs.LoadOrStore(fmt.Sprintf("status %d", resp.StatusCode), resp.Header.Get("X-Request-Id"))
				}
			}
		}()
	}

	probe := httpClient(t)
	// waitEffect polls until a fresh request shows the new configuration.
	waitEffect := func(step, path string, ok func(*http.Response, string) bool) {
		t.Helper()
		var lastResp *http.Response
		var lastBody string
		if !waitFor(10*time.Second, func() bool {
			resp, err := probe.Get("http://" + addr + path)
			if err != nil {
				return false
			}
			bb, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			lastResp, lastBody = resp, string(bb)
			return ok(resp, lastBody)
		}) {
			hdr := http.Header{}
			status := 0
			if lastResp != nil {
				hdr, status = lastResp.Header, lastResp.StatusCode
			}
			t.Errorf("%s: not in effect 10s after the rewrite and SIGHUP; last %s: %d %v %q", step, path, status, hdr, lastBody)
		}
	}
	// Let the load run on the initial configuration first.
	if !waitFor(20*time.Second, func() bool { return sent.Load() > 200 }) {
		t.Fatalf("the load sent only %d requests in 20s", sent.Load())
	}

	steps := []struct {
		name    string
		version string
		targets []string
		extra   bool
		backend string
	}{
		{"header value v2", "v2", []string{a.url}, false, "a"},
		{"targets a -> b", "v3", []string{b.url}, false, "b"},
		{"add route /extra", "v4", []string{b.url}, true, "b"},
		{"targets b -> a", "v5", []string{a.url}, true, "a"},
		{"targets a+b", "v6", []string{a.url, b.url}, true, ""},
	}
	var perStep []int64
	for _, s := range steps {
		before := sent.Load()
		g.rewrite(reloadConfig(addr, s.version, s.targets, s.extra))
		g.reload()
		waitEffect(s.name, "/load", func(r *http.Response, _ string) bool {
			return r.StatusCode == 200 && r.Header.Get("X-Config-Version") == s.version &&
				(s.backend == "" || r.Header.Get("X-Backend") == s.backend)
		})
		if s.extra {
			waitEffect(s.name, "/extra", func(r *http.Response, body string) bool {
				return r.StatusCode == 200 && body == "extra-"+s.version
			})
		}
		// Keep the load on each configuration until it has covered the
		// step: the count asserted below, not a time, is what is waited
		// for (bounded).
		waitFor(20*time.Second, func() bool { return sent.Load() > before+300 })
		perStep = append(perStep, sent.Load()-before)
	}
	// Both targets serve after the last step.
	seen := map[string]bool{}
	for i := 0; i < 20 && len(seen) < 2; i++ {
		resp, _ := get(t, probe, "http://"+addr+"/load", "")
		seen[resp.Header.Get("X-Backend")] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("targets a+b: 20 requests reached only %v", seen)
	}
	close(stop)
	wg.Wait()

	t.Logf("reload under load: sent=%d failed=%d non2xx=%d (reloads: %d ok)", sent.Load(), failed.Load(), non2xx.Load(),
		g.countLog(`"msg":"configuration reloaded"`))
	if failed.Load() != 0 || non2xx.Load() != 0 {
		firstErrs.Range(func(k, v any) bool { t.Logf("sample %v: %v", k, v); return true })
		t.Errorf("reload under load: %d failed and %d non-2xx of %d requests; want 0", failed.Load(), non2xx.Load(), sent.Load())
	}
	t.Logf("requests sent across each reload step: %v", perStep)
	for i, n := range perStep {
		if n < 50 {
			t.Errorf("step %q: only %d requests overlapped it; the load did not cover the reload", steps[i].name, n)
		}
	}
}

// TestInvalidReloadKeepsServing rewrites the configuration with an unknown
// key: the reload is rejected with file:line in the log, the old
// configuration keeps answering, the failed-reload counter goes up, and a
// later valid configuration still applies.
func TestInvalidReloadKeepsServing(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	valid := func(body string) string {
		return fmt.Sprintf(`
listeners:
  - name: web
    address: %s
routes:
  - name: hello
    respond: {status: 200, body: %s}
`, addr, body)
	}
	g := startGateway(t, valid("v1"))
	c := httpClient(t)
	failedBefore, _ := metricValue(g.metrics(), `gatehouse_config_reloads_total{result="failed"}`)

	// Line 7 (the YAML starts with a newline) holds the typo.
	bad := fmt.Sprintf(`
listeners:
  - name: web
    address: %s
routes:
  - name: hello
    respnd: {status: 200, body: v2}
`, addr)
	g.rewrite(bad)
	g.reload()
	wantLog := g.cfgPath + `:7: unknown key \"respnd\"`
	if !g.waitLog(wantLog, 10*time.Second) {
		t.Errorf("the process log has no %q after the invalid reload", wantLog)
	}
	if !g.waitLog(`did you mean \"respond\"?`, time.Second) {
		t.Errorf("the rejected reload's log line lacks the suggestion (did you mean \"respond\"?)")
	}
	if !waitFor(5*time.Second, func() bool {
		v, _ := metricValue(g.metrics(), `gatehouse_config_reloads_total{result="failed"}`)
		return v >= failedBefore+1
	}) {
		v, _ := metricValue(g.metrics(), `gatehouse_config_reloads_total{result="failed"}`)
		t.Errorf(`gatehouse_config_reloads_total{result="failed"} = %v after an invalid reload, want >= %v`, v, failedBefore+1)
	}
	for i := 0; i < 5; i++ {
		resp, body := get(t, c, "http://"+addr+"/", "")
		if resp.StatusCode != 200 || body != "v1" {
			t.Fatalf("after the invalid reload: got %d %q, want the old configuration's 200 v1", resp.StatusCode, body)
		}
	}
	select {
	case <-g.done:
		t.Fatalf("the gateway exited (code %d) after an invalid reload", g.exit)
	default:
	}

	g.rewrite(valid("v2"))
	g.reload()
	if !waitFor(10*time.Second, func() bool {
		resp, body := get(t, c, "http://"+addr+"/", "")
		return resp.StatusCode == 200 && body == "v2"
	}) {
		t.Errorf("a valid configuration after the rejected one did not take effect")
	}
	if code := g.stop(); code != 0 {
		t.Errorf("exit code on SIGTERM after a rejected and an accepted reload: %d, want 0", code)
	}
}

// TestGracefulShutdown: SIGTERM while a request is in flight; new
// connections are refused at once, /readyz says 503, the in-flight request
// completes with 200 once the backend answers, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "slowbe")
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
shutdown: {grace_period: 20s}
upstreams:
  - name: be
    targets: [{url: %s}]
routes:
  - name: all
    backend: {upstream: be}
`, addr, be.url))

	type result struct {
		status int
		body   string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{}}
		resp, err := c.Get("http://" + addr + "/slow?hold=1")
		if err != nil {
			done <- result{err: err}
			return
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- result{resp.StatusCode, string(b), err}
	}()
	select {
	case <-be.slowStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow request never reached the backend")
	}

	g.signal(syscall.SIGTERM)
	if !waitFor(3*time.Second, func() bool { return dialRefused(addr) }) {
		t.Errorf("new connections to %s still accepted 3s after SIGTERM", addr)
	}
	// While draining, readiness is withdrawn (if the admin listener still answers).
	if resp, err := http.Get("http://" + g.admin + "/readyz"); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz while draining: %d, want 503", resp.StatusCode)
		}
	}
	select {
	case r := <-done:
		t.Fatalf("the in-flight request ended before the backend answered: %+v", r)
	case <-g.done:
		t.Fatalf("the gateway exited (code %d) with a request in flight", g.exit)
	default:
	}

	be.release(be.slowRelease)
	select {
	case r := <-done:
		if r.err != nil || r.status != 200 || r.body != "slow done\n" {
			t.Errorf("in-flight request across SIGTERM: status %d body %q err %v; want 200 \"slow done\\n\"", r.status, r.body, r.err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the in-flight request did not complete after the backend answered")
	}
	code, ok := g.waitExit(15 * time.Second)
	if !ok {
		t.Fatal("the gateway did not exit after the last request finished")
	}
	if code != 0 {
		t.Errorf("exit code after graceful shutdown: %d, want 0", code)
	}
	if !portFree(addr) {
		t.Errorf("%s still bound after exit", addr)
	}
}

// TestReloadListenerChangeUnderLoad changes a listener's settings (its
// timeouts) on each of 10 reloads, which makes the gateway bind a new
// socket with SO_REUSEPORT and shut the old server down, while 6 clients
// (2 with keep-alive, 4 opening a new connection per request, the way
// many clients and L4 balancers connect) send GETs. The README promises
// that a changed listener is rebound before the old server stops, so no
// connection is refused and no request fails.
func TestReloadListenerChangeUnderLoad(t *testing.T) {
	be := newBackend(t, "be")
	addr := freeAddr(t)
	cfg := func(idle int) string {
		return fmt.Sprintf(`
listeners:
  - name: web
    address: %s
    timeouts: {idle: %ds}
shutdown: {grace_period: 5s}
reload: {watch: false}
upstreams:
  - name: be
    targets: [{url: %s}]
routes:
  - name: all
    filters:
      - response_headers: {set: {X-Idle: "%d"}}
    backend: {upstream: be}
`, addr, idle, be.url, idle)
	}
	g := startGateway(t, cfg(60))

	const workers = 6
	var sent, failed, non2xx atomic.Int64
	var samples sync.Map
	stop := make(chan struct{})
	deadline := time.Now().Add(2 * time.Minute) // hard bound; the load normally ends with stop
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		tr := &http.Transport{DisableKeepAlives: w%3 != 0, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		kind := "keep-alive client"
		if tr.DisableKeepAlives {
			kind = "new-connection-per-request client"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20000 && time.Now().Before(deadline); i++ {
				select {
				case <-stop:
					return
				default:
				}
				sent.Add(1)
				resp, err := client.Get("http://" + addr + "/load")
				if err != nil {
					failed.Add(1)
					samples.LoadOrStore(kind+": "+err.Error(), true)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					non2xx.Add(1)
					samples.LoadOrStore(fmt.Sprintf("status %d", resp.StatusCode), true)
				}
			}
		}()
	}
	probe := httpClient(t)
	if !waitFor(20*time.Second, func() bool { return sent.Load() > 200 }) {
		t.Fatalf("the load sent only %d requests in 20s", sent.Load())
	}
	const reloads = 10
	for i := 1; i <= reloads; i++ {
		idle := 60 + i
		g.rewrite(cfg(idle))
		g.reload()
		if !waitFor(10*time.Second, func() bool {
			resp, err := probe.Get("http://" + addr + "/load")
			if err != nil {
				return false
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.Header.Get("X-Idle") == fmt.Sprint(idle)
		}) {
			t.Errorf("reload %d (idle %ds) not in effect after 10s", i, idle)
		}
		// The load covers each reload (bounded wait on the count).
		before := sent.Load()
		if !waitFor(20*time.Second, func() bool { return sent.Load() > before+200 }) {
			t.Errorf("reload %d: only %d requests sent after it in 20s", i, sent.Load()-before)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d listener-changing reloads under load: sent=%d failed=%d non2xx=%d", reloads, sent.Load(), failed.Load(), non2xx.Load())
	if failed.Load() != 0 || non2xx.Load() != 0 {
		shown := 0
		samples.Range(func(k, _ any) bool { t.Logf("failure sample: %v", k); shown++; return shown < 8 })
		t.Errorf("listener-changing reloads under load: %d failed and %d non-2xx of %d requests; want 0", failed.Load(), non2xx.Load(), sent.Load())
	}
}
