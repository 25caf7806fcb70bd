package cache

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// discardWriter is a minimal ResponseWriter that reuses its header map,
// so benchmarks measure the cache, not the recorder.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func (w *discardWriter) reset() { clear(w.h) }

var body1K = strings.Repeat("x", 1024)

func benchServe(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.reset()
		h.ServeHTTP(w, r)
	}
}

// BenchmarkHit: a fresh 1 KiB entry served from the memory backend.
func BenchmarkHit(b *testing.B) {
	c, _ := newTestCache(b, Config{})
	up := &upstream{handler: fixed(200, body1K, "Cache-Control", "max-age=3600", "Content-Type", "application/json", "Etag", `"v1"`)}
	h := c.Wrap(up)
	r := httptest.NewRequest("GET", "http://api.example.com/v1/items?page=2&sort=name", nil)
	h.ServeHTTP(httptest.NewRecorder(), r)
	benchServe(b, h, r)
	if up.calls.Load() != 1 {
		b.Fatalf("calls = %d", up.calls.Load())
	}
}

// BenchmarkMissPassThrough: an uncacheable 1 KiB response (no-store) goes
// through the cache every time: lookup, flight, capture writer.
func BenchmarkMissPassThrough(b *testing.B) {
	c, _ := newTestCache(b, Config{})
	up := &upstream{handler: fixed(200, body1K, "Cache-Control", "no-store", "Content-Type", "application/json")}
	benchServe(b, c.Wrap(up), httptest.NewRequest("GET", "http://api.example.com/v1/items?page=2&sort=name", nil))
}

// BenchmarkNoCache is the same upstream without the cache, for comparison.
func BenchmarkNoCache(b *testing.B) {
	up := &upstream{handler: fixed(200, body1K, "Cache-Control", "no-store", "Content-Type", "application/json")}
	benchServe(b, up, httptest.NewRequest("GET", "http://api.example.com/v1/items?page=2&sort=name", nil))
}

func BenchmarkKey(b *testing.B) {
	c, _ := newTestCache(b, Config{})
	r := httptest.NewRequest("GET", "http://API.example.com:8443/v1/items?sort=name&page=2", nil)
	b.ReportAllocs()
	for range b.N {
		_ = c.Key(r)
	}
}
