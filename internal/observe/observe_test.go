package observe

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRouteMetrics(t *testing.T) {
	m := NewMetrics()
	rm := m.Route("users")
	rm.Observe("GET", 200, 3*time.Millisecond)
	rm.Observe("GET", 204, time.Millisecond)
	rm.Observe("BREW", 503, time.Millisecond) // junk methods share one label value
	rm.Observe("POST", 99, time.Millisecond)  // out-of-range status counts as 5xx
	if got := testutil.ToFloat64(m.requests.WithLabelValues("users", "GET", "2xx")); got != 2 {
		t.Fatalf("GET 2xx = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("users", "other", "5xx")); got != 1 {
		t.Fatalf("other 5xx = %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("users", "POST", "5xx")); got != 1 {
		t.Fatalf("POST with status 99 = %v", got)
	}
	if n := testutil.CollectAndCount(m.duration); n != 1 {
		t.Fatalf("duration series %d", n)
	}
	m.Reloaded(true)
	m.Reloaded(false)
	if got := testutil.ToFloat64(m.reloads.WithLabelValues("failed")); got != 1 {
		t.Fatalf("failed reloads %v", got)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAccessLog(t *testing.T) {
	var out lockedBuffer
	a := NewAccessLog(&out)
	a.Log(&Entry{Route: "users", Method: "GET", Path: "/v1/users", Status: 200, Bytes: 12, Duration: 1500 * time.Microsecond,
		ClientIP: "127.0.0.1", Target: "10.0.0.1:80", Attempts: 1, RequestID: "abc"})
	a.Log(&Entry{Route: "users", Method: "GET", Path: "/x", Status: 502, Error: "connect refused"})
	if out.String() != "" {
		t.Fatal("written before a flush: the log should be buffered")
	}
	a.Close() // flushes
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), out.String())
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &e); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"route": "users", "status": 200.0, "upstream_target": "10.0.0.1:80", "request_id": "abc", "duration_ms": 1.5} {
		if e[k] != want {
			t.Errorf("%s = %v, want %v", k, e[k], want)
		}
	}
	if _, ok := e["error"]; ok {
		t.Error("successful request logged an error field")
	}
	if !strings.Contains(lines[1], `"error":"connect refused"`) {
		t.Errorf("failed request line %s", lines[1])
	}
}

func TestLimitCounters(t *testing.T) {
	m := NewMetrics()
	lc := m.Limits("api")
	lc.Decision("10-per-1s", true)
	lc.Decision("10-per-1s", false)
	lc.Decision("10-per-1s", false)
	lc.Decision("quota", true)
	for series, want := range map[[2]string]float64{{"10-per-1s", "allowed"}: 1, {"10-per-1s", "limited"}: 2, {"quota", "allowed"}: 1} {
		if got := testutil.ToFloat64(m.limitDecisions.WithLabelValues("api", series[0], series[1])); got != want {
			t.Errorf("%v = %v, want %v", series, got, want)
		}
	}
	m.StoreErrors("api", "quota").Inc()
	if got := testutil.ToFloat64(m.storeErrors.WithLabelValues("api", "quota")); got != 1 {
		t.Errorf("store errors %v", got)
	}
}
