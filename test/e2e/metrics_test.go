package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// accessEntry is the part of an access log line the tests read.
type accessEntry struct {
	Msg            string  `json:"msg"`
	Route          string  `json:"route"`
	Method         string  `json:"method"`
	Path           string  `json:"path"`
	Status         int     `json:"status"`
	RequestID      string  `json:"request_id"`
	UpstreamTarget string  `json:"upstream_target"`
	ClientIP       string  `json:"client_ip"`
	DurationMS     float64 `json:"duration_ms"`
}

// accessEntries parses every JSON line of the access log; a line that is
// not JSON is reported.
func accessEntries(t *testing.T, out string) []accessEntry {
	t.Helper()
	var es []accessEntry
	for _, line := range strings.Split(out, "\n") {
		if line == "" {
			continue
		}
		var e accessEntry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("access log line is not JSON: %q", line)
			continue
		}
		es = append(es, e)
	}
	return es
}

// TestMetricsAndAccessLog: after N proxied GETs and one unmatched request,
// /metrics counts them by route, method and status class with a duration
// histogram, and stdout has exactly one JSON access log line per request
// with route, status, request id and upstream target.
func TestMetricsAndAccessLog(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "metered")
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: be
    targets: [{url: %s}]
routes:
  - name: metered
    match: {path: {prefix: /m}}
    backend: {upstream: be}
`, addr, be.url))
	c := httpClient(t)

	const n = 7
	ids := map[string]bool{}
	for i := 0; i < n; i++ {
		resp, _ := get(t, c, fmt.Sprintf("http://%s/m/%d", addr, i), "")
		if resp.StatusCode != 200 {
			t.Fatalf("GET /m/%d: %d", i, resp.StatusCode)
		}
		id := resp.Header.Get("X-Request-Id")
		if id == "" || ids[id] {
			t.Fatalf("GET /m/%d: X-Request-Id %q missing or repeated", i, id)
		}
		ids[id] = true
	}
	resp, _ := get(t, c, "http://"+addr+"/unrouted", "")
	if resp.StatusCode != 404 {
		t.Fatalf("GET /unrouted: %d, want 404", resp.StatusCode)
	}
	notFoundID := resp.Header.Get("X-Request-Id")

	// Requests are counted after their handler returns, which may be
	// after the client has the response: wait until every count reached
	// its expected value (the 4xx of the unmatched request included),
	// then check each is exact.
	checks := map[string]float64{
		`gatehouse_http_requests_total{code="2xx",method="GET",route="metered"}`:    n,
		`gatehouse_http_request_duration_seconds_count{route="metered"}`:            n,
		`gatehouse_http_request_duration_seconds_bucket{route="metered",le="+Inf"}`: n,
	}
	var m string
	waitFor(5*time.Second, func() bool {
		m = g.metrics()
		for series, want := range checks {
			if got, ok := metricValue(m, series); !ok || got < want {
				return false
			}
		}
		return strings.Contains(m, `code="4xx",method="GET"`)
	})
	for series, want := range checks {
		got, ok := metricValue(m, series)
		if !ok || got != want {
			t.Errorf("/metrics %s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	if !strings.Contains(m, `gatehouse_http_request_duration_seconds_bucket{route="metered",le="0.005"}`) {
		t.Errorf("/metrics lacks the duration histogram's buckets for route metered")
	}
	// The unmatched request is counted too, under some route label, as 4xx.
	if !strings.Contains(m, `code="4xx",method="GET"`) {
		t.Errorf("/metrics has no 4xx GET series for the unmatched request")
	}

	// Access log: flushed in batches, so poll.
	var es []accessEntry
	waitFor(10*time.Second, func() bool {
		es = accessEntries(t, g.accessLog())
		return len(es) >= n+1
	})
	if len(es) != n+1 {
		t.Fatalf("access log has %d lines, want %d (one per request):\n%s", len(es), n+1, g.accessLog())
	}
	byID := map[string]accessEntry{}
	for _, e := range es {
		if _, dup := byID[e.RequestID]; dup {
			t.Errorf("request id %s logged twice", e.RequestID)
		}
		byID[e.RequestID] = e
	}
	for id := range ids {
		e, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("no access log line for request id %s", id)
		case e.Route != "metered" || e.Status != 200 || e.Method != "GET" || !strings.HasPrefix(e.Path, "/m/"):
			t.Errorf("access log line for %s: %+v, want route metered, GET /m/…, status 200", id, e)
		case !strings.Contains(e.UpstreamTarget, be.addr):
			t.Errorf("access log line for %s: upstream_target %q, want the backend %s", id, e.UpstreamTarget, be.addr)
		case e.ClientIP != "127.0.0.1":
			t.Errorf("access log line for %s: client_ip %q, want 127.0.0.1", id, e.ClientIP)
		}
	}
	if e, ok := byID[notFoundID]; !ok || e.Status != 404 || e.UpstreamTarget != "" {
		t.Errorf("access log line for the unmatched request (id %s): %+v (found %v), want status 404 and no upstream target", notFoundID, e, ok)
	}
}
