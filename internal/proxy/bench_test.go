package proxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a reusable ResponseWriter, so the handler benchmark
// counts the proxy's and the transport's allocations, not a recorder's.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

func helloUpstream(b *testing.B) *httptest.Server {
	body := []byte("Hello, World!")
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"text/plain"}
		h["Content-Length"] = []string{"13"}
		w.Write(body)
	}))
	b.Cleanup(s.Close)
	return s
}

// BenchmarkProxy measures a GET through the proxy to an upstream over
// loopback. "handler" calls ServeHTTP directly (the proxy plus
// net/http's client side); "e2e" goes client → proxy server → upstream
// on both cores, so its allocs include the test client and both servers.
func BenchmarkProxy(b *testing.B) {
	up := helloUpstream(b)
	b.Run("handler", func(b *testing.B) {
		h := New(Options{Route: "bench", Pool: newPool(b, up.URL), Transport: testTransport(b)})
		req := httptest.NewRequest("GET", "/v1/users/42?x=1", nil)
		req.RemoteAddr = "10.0.0.1:51234"
		req.Header.Set("User-Agent", "wrk")
		req.Header.Set("Accept", "*/*")
		w := &discardWriter{h: make(http.Header)}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, req)
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
		}
	})
	b.Run("handler with retry policy and breaker", func(b *testing.B) {
		// What a resilient route adds per request: no allocation.
		h := New(Options{Route: "bench", Pool: newPool(b, up.URL), Transport: testTransport(b),
			Retry:   &RetryPolicy{Attempts: 3, On: []string{"connect-failure", "reset", "503"}, Budget: NewBudget(0.2, 3)},
			Breaker: NewBreaker(BreakerLimits{MaxInFlight: 1000, MaxPending: 100})})
		req := httptest.NewRequest("GET", "/v1/users/42?x=1", nil)
		req.RemoteAddr = "10.0.0.1:51234"
		req.Header.Set("User-Agent", "wrk")
		req.Header.Set("Accept", "*/*")
		w := &discardWriter{h: make(http.Header)}
		b.ReportAllocs()
		for b.Loop() {
			clear(w.h)
			h.ServeHTTP(w, req)
			if w.code != 200 {
				b.Fatalf("status %d", w.code)
			}
		}
	})
	b.Run("e2e", func(b *testing.B) {
		s := httptest.NewServer(New(Options{Route: "bench", Pool: newPool(b, up.URL), Transport: testTransport(b)}))
		defer s.Close()
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		defer client.CloseIdleConnections()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := client.Get(s.URL + "/v1/users/42")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	})
}
