package waf

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
)

func benchWAF(b *testing.B) *WAF {
	w, err := New(Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// drain is an upstream that reads the body, as the proxy does.
var drain = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.WriteHeader(200)
})

// nopWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the WAF, not the recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

func BenchmarkCleanGET(b *testing.B) {
	h := benchWAF(b).Wrap(drain)
	r := httptest.NewRequest("GET", "/api/items?page=2&sort=name", nil)
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", "bench/1.0")
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// A 1 KiB document of a dozen fields, typical of an API call.
func BenchmarkCleanJSONPost1KiB(b *testing.B) {
	benchJSONPost(b, []byte(`{"order_id":"ord_8c1f2a9d4e7b","customer":{"name":"Jane Doe","email":"jane.doe@example.com","phone":"+1 555 0100"},"shipping":{"street":"1200 Market Street Suite 400","city":"San Francisco","postal_code":"94103","country":"US"},"items":[{"sku":"WID-001","quantity":2,"unit_price":1999},{"sku":"GAD-042","quantity":1,"unit_price":4999}],"notes":"Please leave the parcel with the front desk if nobody answers the door, and call on arrival. Thanks for the quick delivery last time, it was really appreciated by the whole team here.","coupon":"SPRING-2026","gift_wrap":false,"currency":"USD","metadata":{"source":"web","campaign":"newsletter-march","session":"b5e1c0f4-7d2a-4c8e-9f10-2a6b3c4d5e6f"}}`))
}

// A 1 KiB array of 35 small objects: about 100 arguments to inspect, the
// worst case per byte for the CRS, whose cost grows with argument count.
func BenchmarkCleanJSONPost1KiBManyFields(b *testing.B) {
	benchJSONPost(b, jsonBody(1024))
}

func benchJSONPost(b *testing.B, body []byte) {
	h := benchWAF(b).Wrap(drain)
	rd := bytes.NewReader(body)
	r := httptest.NewRequest("POST", "/api/items", nil)
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
	r.Header.Set("User-Agent", "bench/1.0")
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		rd.Reset(body)
		r.Body = io.NopCloser(rd)
		h.ServeHTTP(w, r)
	}
}

func BenchmarkBlockedGET(b *testing.B) {
	h := benchWAF(b).Wrap(drain)
	r := httptest.NewRequest("GET", "/?id="+url.QueryEscape("1 UNION SELECT password FROM users"), nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(&nopWriter{h: http.Header{}}, r)
	}
}

// BenchmarkNewCached is New for a configuration already loaded.
func BenchmarkNewCached(b *testing.B) {
	benchWAF(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
