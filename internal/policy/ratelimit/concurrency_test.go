package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

func TestConcurrency(t *testing.T) {
	var allowed, refused int
	var mu sync.Mutex
	c, err := NewConcurrency(ConcurrencyConfig{Route: "api", Max: 2, Key: []KeyPart{{Kind: KindClientIP}},
		OnDecision: func(ok bool) {
			mu.Lock()
			defer mu.Unlock()
			if ok {
				allowed++
			} else {
				refused++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	release := make(chan struct{})
	h := c.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Block") != "" {
			entered <- struct{}{}
			<-release
		}
		if r.Header.Get("X-Panic") != "" {
			panic(http.ErrAbortHandler)
		}
	}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := request("192.0.2.1", nil)
			r.Header.Set("X-Block", "1")
			serve(h, r)
		}()
		<-entered
	}
	if n := c.InFlight("192.0.2.1"); n != 2 {
		t.Fatalf("in flight %d", n)
	}
	rec := serve(h, request("192.0.2.1", nil))
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	// Another key is not affected.
	if rec := serve(h, request("192.0.2.2", nil)); rec.Code != 200 {
		t.Fatalf("other key %d", rec.Code)
	}
	close(release)
	wg.Wait()
	if n := c.InFlight("192.0.2.1"); n != 0 || len(c.inflight) != 0 {
		t.Fatalf("in flight %d after release, map %v", n, c.inflight)
	}
	// A panicking handler releases its slot too.
	for range 3 {
		func() {
			defer func() { recover() }()
			r := request("192.0.2.1", nil)
			r.Header.Set("X-Panic", "1")
			h.ServeHTTP(httptest.NewRecorder(), r)
		}()
	}
	if n := c.InFlight("192.0.2.1"); n != 0 {
		t.Fatalf("in flight %d after panics", n)
	}
	if allowed != 2+1+3 || refused != 1 {
		t.Fatalf("allowed %d refused %d", allowed, refused)
	}
	if _, err := NewConcurrency(ConcurrencyConfig{Max: 0}); err == nil {
		t.Fatal("max 0 accepted")
	}
	if _, err := NewConcurrency(ConcurrencyConfig{Max: 1, Key: []KeyPart{{Kind: "x"}}}); err == nil {
		t.Fatal("bad key accepted")
	}
}
