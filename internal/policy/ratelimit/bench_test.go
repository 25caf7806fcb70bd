package ratelimit

import (
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/store"
)

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func benchWrap(b *testing.B, cfg Config) {
	h := mustNew(b, cfg).Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := request("192.0.2.1", consumer("alice"))
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

func memLimit() store.Limit {
	// One per µs refill and a huge burst: never refuses within a run.
	return store.Limit{Algorithm: store.GCRA, Rate: 1000, Period: time.Millisecond, Burst: 1 << 40}
}

// The allowed path through the in-memory store, as shared store (with a
// deadline and the breaker) and as the purely local one.
func BenchmarkWrapAllowedShared(b *testing.B) {
	benchWrap(b, Config{Route: "api", Rules: []Rule{{Limit: memLimit(), Key: []KeyPart{{Kind: KindConsumer}}}},
		Store: newMemory(b, nil), Headers: true})
}

func BenchmarkWrapAllowedLocal(b *testing.B) {
	benchWrap(b, Config{Route: "api", Rules: []Rule{{Limit: memLimit(), Key: []KeyPart{{Kind: KindConsumer}}}},
		Local: newMemory(b, nil), Headers: true})
}

func BenchmarkWrapAllowedTwoRulesNoHeaders(b *testing.B) {
	l2 := memLimit()
	l2.Period, l2.Rate = 2*time.Millisecond, 2000
	benchWrap(b, Config{Route: "api", Rules: []Rule{
		{Name: "a", Limit: memLimit(), Key: []KeyPart{{Kind: KindClientIP}}},
		{Name: "b", Limit: l2, Key: []KeyPart{{Kind: KindConsumer}}},
	}, Store: newMemory(b, nil)})
}

func BenchmarkKey(b *testing.B) {
	k, _ := NewKeyer([]KeyPart{{Kind: KindConsumer}, {Kind: KindHeader, Name: "X-Tenant"}, {Kind: KindClientIP}})
	r := request("2001:db8::1", consumer("alice"))
	r.Header.Set("X-Tenant", "acme")
	var buf [128]byte
	b.ReportAllocs()
	for b.Loop() {
		k.AppendKey(buf[:0], r)
	}
}

func BenchmarkKeyAPIKey(b *testing.B) {
	k, _ := NewKeyer([]KeyPart{{Kind: KindAPIKey}})
	r := request("192.0.2.1", nil)
	r.Header.Set("X-Api-Key", "0123456789abcdef0123456789abcdef")
	var buf [128]byte
	b.ReportAllocs()
	for b.Loop() {
		k.AppendKey(buf[:0], r)
	}
}

func BenchmarkConcurrency(b *testing.B) {
	c, _ := NewConcurrency(ConcurrencyConfig{Max: 1 << 30, Key: []KeyPart{{Kind: KindClientIP}}})
	h := c.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := request("192.0.2.1", nil)
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}
