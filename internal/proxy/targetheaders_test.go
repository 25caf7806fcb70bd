package proxy

import (
	"io"
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// TestTargetHeaders: each target gets its own header edits, and a retry
// from one target to another carries only the second target's.
func TestTargetHeaders(t *testing.T) {
	seen := make(chan [2]string, 8)
	mk := func(name string, status int) string {
		return upstream(t, func(w http.ResponseWriter, r *http.Request) {
			seen <- [2]string{name, r.Header.Get("Backend") + "|" + r.Header.Get("X-Only-A")}
			w.WriteHeader(status)
			io.WriteString(w, name)
		}).URL
	}
	a, b := mk("A", 503), mk("B", 200)
	pool := newPool(t, a, b) // round robin: A first
	ta, tb := pool.Targets()[0].Addr, pool.Targets()[1].Addr
	th := TargetHeaders{
		ta: func(h http.Header) { h.Set("Backend", "A"); h.Set("X-Only-A", "1") },
		tb: func(h http.Header) { h.Set("Backend", "B") },
	}
	s, infos := infoFront(t, Options{Pool: pool, TargetHeaders: th, Retry: &RetryPolicy{Attempts: 2, On: []string{"503"}}}, reqinfo.Info{})
	status, body, _ := do(t, s.URL, infos, "GET", nil, 0)
	if status != 200 || body != "B" {
		t.Fatalf("status %d body %q", status, body)
	}
	if got := <-seen; got != [2]string{"A", "A|1"} {
		t.Errorf("first attempt: %v", got)
	}
	if got := <-seen; got != [2]string{"B", "B|"} {
		t.Errorf("retry on B carried %v, want only B's edit", got)
	}
}
