package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestUpstreamErrors checks the documented failure mapping through real
// sockets: a target that refuses connections gives 502, a route timeout
// gives 504 (well before the backend would answer), both as problem+json;
// an idempotent GET on a pool of [dead, live] is retried on the live target
// so it never fails; failed attempts are counted per target.
func TestUpstreamErrors(t *testing.T) {
	t.Parallel()
	live := newBackend(t, "live")
	dead := freeAddr(t) // nothing listens here: connections are refused
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: gone
    targets: [{url: http://%s}]
  - name: mixed
    targets: [{url: http://%s}, {url: %s}]
  - name: slow
    targets: [{url: %s}]
routes:
  - name: gone
    match: {path: {prefix: /gone}}
    backend: {upstream: gone}
  - name: mixed
    match: {path: {prefix: /mixed}}
    backend: {upstream: mixed}
  - name: slow
    match: {path: {prefix: /slow}}
    backend: {upstream: slow}
    timeout: 300ms
`, addr, dead, dead, live.url, live.url))
	c := httpClient(t)

	problemStatus := func(label, body string) int {
		var p struct{ Status int }
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Errorf("%s: body %q is not a problem document: %v", label, body, err)
		}
		return p.Status
	}

	resp, body := get(t, c, "http://"+addr+"/gone", "")
	if resp.StatusCode != 502 {
		t.Errorf("GET /gone (target refuses connections): %d %q, want 502", resp.StatusCode, body)
	} else if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" || problemStatus("GET /gone", body) != 502 {
		t.Errorf("GET /gone: 502 with Content-Type %q body %q, want application/problem+json with status 502", ct, body)
	}

	start := time.Now()
	resp, body = get(t, c, "http://"+addr+"/slow?ms=5000", "")
	took := time.Since(start)
	if resp.StatusCode != 504 {
		t.Errorf("GET /slow?ms=5000 on a route with timeout 300ms: %d %q after %v, want 504", resp.StatusCode, body, took)
	} else if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" || problemStatus("GET /slow", body) != 504 {
		t.Errorf("GET /slow: 504 with Content-Type %q body %q, want application/problem+json with status 504", ct, body)
	}
	if took > 3*time.Second {
		t.Errorf("GET /slow?ms=5000 with a 300ms route timeout took %v", took)
	}

	for i := 0; i < 6; i++ {
		resp, body := get(t, c, fmt.Sprintf("http://%s/mixed/%d", addr, i), "")
		if resp.StatusCode != 200 || resp.Header.Get("X-Backend") != "live" {
			t.Errorf("GET /mixed/%d on [dead, live]: %d %q, want 200 from live (a refused connect is retried on another target)", i, resp.StatusCode, body)
		}
	}

	if !waitFor(3*time.Second, func() bool {
		v, _ := metricValue(g.metrics(), fmt.Sprintf(`gatehouse_upstream_errors_total{target=%q,upstream="gone"}`, dead))
		return v >= 1
	}) {
		var lines []string
		for _, l := range strings.Split(g.metrics(), "\n") {
			if strings.HasPrefix(l, "gatehouse_upstream_errors_total") {
				lines = append(lines, l)
			}
		}
		t.Errorf("gatehouse_upstream_errors_total for upstream gone, target %s: not counted; series: %v", dead, lines)
	}
}
