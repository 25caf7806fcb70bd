package cache

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSingleFlight: 100 concurrent misses, one upstream request; the
// leader's client gets MISS, the waiters HIT, all the full body.
func TestSingleFlight(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	release := make(chan struct{})
	body := strings.Repeat("b", 10000)
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, body)
	}}
	srv := httptest.NewServer(c.Wrap(up))
	defer srv.Close()

	const n = 100
	var wg sync.WaitGroup
	labels := make(chan string, n)
	for range n {
		wg.Go(func() {
			res, err := srv.Client().Get(srv.URL + "/sf")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) != body {
				t.Errorf("body of %d bytes", len(b))
			}
			labels <- res.Header.Get("X-Cache")
		})
	}
	waitFor(t, "99 waiters", func() bool {
		c.flights.mu.Lock()
		defer c.flights.mu.Unlock()
		call := c.flights.m[c.Key(httptest.NewRequest("GET", srv.URL+"/sf", nil))]
		return call != nil && call.waiters.Load() == n-1
	})
	close(release)
	wg.Wait()
	close(labels)
	if up.calls.Load() != 1 {
		t.Fatalf("upstream calls = %d, want 1", up.calls.Load())
	}
	count := map[string]int{}
	for l := range labels {
		count[l]++
	}
	if count[Miss] != 1 || count[Hit] != n-1 {
		t.Fatalf("X-Cache counts %v", count)
	}
}

// TestSingleFlightNotCacheable: when the leader's response cannot be
// shared, every waiter goes upstream itself and gets a full body.
func TestSingleFlightNotCacheable(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	release := make(chan struct{})
	var once sync.Once
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		<-release
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "private data")
	}}
	srv := httptest.NewServer(c.Wrap(up))
	defer srv.Close()
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			res, err := srv.Client().Get(srv.URL + "/ns")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if string(b) != "private data" || res.Header.Get("X-Cache") != Miss {
				t.Errorf("got %q %q", b, res.Header.Get("X-Cache"))
			}
		})
	}
	waitFor(t, "waiters", func() bool {
		c.flights.mu.Lock()
		defer c.flights.mu.Unlock()
		for _, call := range c.flights.m {
			return call.waiters.Load() == n-1
		}
		return false
	})
	once.Do(func() { close(release) })
	wg.Wait()
	if up.calls.Load() != n {
		t.Fatalf("calls = %d, want %d", up.calls.Load(), n)
	}
}

// TestWaiterBoundedByContext: a waiter gives up when its context ends
// while the leader is still waiting on the upstream.
func TestWaiterBoundedByContext(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	h := c.Wrap(&upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
	}})
	go do(h, req("GET", "/w"))
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	rec := do(h, req("GET", "/w").WithContext(ctx))
	if rec.Code != http.StatusGatewayTimeout {
		t.Fatalf("waiter got %d", rec.Code)
	}
}

// TestLeaderPanicReleasesWaiters: http.ErrAbortHandler in the leader
// (the proxy aborting a broken upstream body) must not strand waiters.
func TestLeaderPanicReleasesWaiters(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	release := make(chan struct{})
	first := true
	var mu sync.Mutex
	h := c.Wrap(&upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		f := first
		first = false
		mu.Unlock()
		if f {
			<-release
			panic(http.ErrAbortHandler)
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "ok")
	}})
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		defer func() { recover() }()
		do(h, req("GET", "/p"))
	}()
	waitFor(t, "leader", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return !first
	})
	go func() { done <- do(h, req("GET", "/p")) }()
	waitFor(t, "waiter", func() bool {
		c.flights.mu.Lock()
		defer c.flights.mu.Unlock()
		for _, call := range c.flights.m {
			return call.waiters.Load() == 1
		}
		return false
	})
	close(release)
	expect(t, <-done, 200, Miss, "ok")
}

// TestStreamingAndMaxBody: the first client sees bytes before the
// upstream finishes, and a body beyond MaxBodyBytes still reaches it in
// full but is not stored.
func TestStreamingAndMaxBody(t *testing.T) {
	c, _ := newTestCache(t, Config{MaxBodyBytes: 100})
	proceed := make(chan struct{})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-proceed
		io.WriteString(w, strings.Repeat("x", 200))
	}}
	srv := httptest.NewServer(c.Wrap(up))
	defer srv.Close()
	res, err := srv.Client().Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(res.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "first\n" {
		t.Fatalf("streamed %q %v", line, err)
	}
	close(proceed)
	rest, _ := io.ReadAll(br)
	res.Body.Close()
	if len(rest) != 200 {
		t.Fatalf("client got %d more bytes", len(rest))
	}
	res, err = srv.Client().Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Header.Get("X-Cache") != Miss || len(b) != 206 || up.calls.Load() != 2 {
		t.Fatalf("oversized body was cached: %q %d bytes, calls %d", res.Header.Get("X-Cache"), len(b), up.calls.Load())
	}
}

// TestShortBodyNotStored: a body shorter than its Content-Length (the
// upstream died) is not stored.
func TestShortBodyNotStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "short")
	}}
	h := c.Wrap(up)
	do(h, req("GET", "/short"))
	do(h, req("GET", "/short"))
	if up.calls.Load() != 2 {
		t.Fatal("truncated body was stored")
	}
}

// TestOuterHeadersNotStored: headers set by outer middleware (a request
// id) are not captured into the entry.
func TestOuterHeadersNotStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	inner := c.Wrap(&upstream{handler: fixed(200, "x", "Cache-Control", "max-age=60", "Vary", "Accept")})
	n := 0
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("X-Request-Id", strings.Repeat("r", n))
		w.Header().Add("Vary", "Origin")
		inner.ServeHTTP(w, r)
	})
	do(outer, req("GET", "/o"))
	rec := do(outer, req("GET", "/o"))
	expect(t, rec, 200, Hit, "x")
	if got := rec.Header().Values("X-Request-Id"); len(got) != 1 || got[0] != "rr" {
		t.Fatalf("request id %v", got)
	}
	if got := rec.Header().Values("Vary"); strings.Join(got, ",") != "Origin,Accept" {
		t.Fatalf("Vary %v", got)
	}
}

// TestFlightVaryMismatch: a waiter whose varied header differs from the
// leader's must not be served the leader's variant.
func TestFlightVaryMismatch(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	release := make(chan struct{})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept-Encoding") == "gzip" {
			<-release
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Encoding")
		io.WriteString(w, "enc="+r.Header.Get("Accept-Encoding"))
	}}
	h := c.Wrap(up)
	leader := make(chan *httptest.ResponseRecorder)
	go func() { leader <- do(h, req("GET", "/vm", "Accept-Encoding", "gzip")) }()
	waitFor(t, "leader", func() bool { return up.calls.Load() == 1 })
	waiter := make(chan *httptest.ResponseRecorder)
	go func() { waiter <- do(h, req("GET", "/vm", "Accept-Encoding", "br")) }()
	waitFor(t, "waiter", func() bool {
		c.flights.mu.Lock()
		defer c.flights.mu.Unlock()
		for _, call := range c.flights.m {
			return call.waiters.Load() == 1
		}
		return false
	})
	close(release)
	expect(t, <-leader, 200, Miss, "enc=gzip")
	expect(t, <-waiter, 200, Miss, "enc=br")
	expect(t, do(h, req("GET", "/vm", "Accept-Encoding", "br")), 200, Hit, "enc=br")
}
