package cache

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// clock is a settable time source shared by the cache and its memory
// backend, so freshness tests need no sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// NowNano and Tick make clock an otter.Clock for the memory backend.
func (c *clock) NowNano() int64                      { return c.Now().UnixNano() }
func (c *clock) Tick(time.Duration) <-chan time.Time { return nil }

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newTestCache(t testing.TB, cfg Config) (*Cache, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	if cfg.Backend == nil {
		cfg.Backend = newMemoryBackend(1<<20, clk)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.now = clk.Now
	return c, clk
}

// upstream counts requests and answers with handler.
type upstream struct {
	calls   atomic.Int64
	handler http.HandlerFunc
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	u.handler(w, r)
}

// fixed answers every request with the body and headers (pairs).
func fixed(status int, body string, kv ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(kv); i += 2 {
			w.Header().Add(kv[i], kv[i+1])
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

func req(method, target string, kv ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// expect checks status, X-Cache and body.
func expect(t *testing.T, rec *httptest.ResponseRecorder, status int, xcache, body string) {
	t.Helper()
	if rec.Code != status || rec.Header().Get("X-Cache") != xcache || rec.Body.String() != body {
		t.Fatalf("got %d X-Cache=%q body=%q; want %d %q %q", rec.Code, rec.Header().Get("X-Cache"), rec.Body.String(), status, xcache, body)
	}
}

// failingBackend fails every call; slow blocks until the context ends.
type failingBackend struct {
	slow  bool
	calls atomic.Int64
}

func (f *failingBackend) wait(ctx context.Context) error {
	f.calls.Add(1)
	if f.slow {
		<-ctx.Done()
		return ctx.Err()
	}
	return context.DeadlineExceeded
}

func (f *failingBackend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	return nil, false, f.wait(ctx)
}
func (f *failingBackend) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	return f.wait(ctx)
}
func (f *failingBackend) Delete(ctx context.Context, keys ...string) error { return f.wait(ctx) }
func (f *failingBackend) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	return 0, f.wait(ctx)
}

// waitFor polls cond (a readiness check, not a fixed sleep) for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
