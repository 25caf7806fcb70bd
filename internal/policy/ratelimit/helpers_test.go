package ratelimit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/store"
)

// t0 is a minute boundary, so sliding windows of 1s and 1m start there.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: t0} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeStore is a minimal in-process store: fixed windows aligned to the
// period (both algorithms, Burst ignored), enough to test the limiter's
// logic independently of store.Memory.
type fakeStore struct {
	store.Store // nil: unused methods panic
	now         func() time.Time
	mu          sync.Mutex
	counts      map[string]int64
}

func newFake(now func() time.Time) *fakeStore {
	return &fakeStore{now: now, counts: make(map[string]int64)}
}

func (f *fakeStore) AllowN(_ context.Context, key string, l store.Limit, n int64) (store.RateResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now().UnixNano()
	win := now / int64(l.Period)
	k := fmt.Sprintf("%s|%d", key, win)
	end := time.Duration((win+1)*int64(l.Period) - now)
	c := f.counts[k]
	if c+n > l.Rate {
		return store.RateResult{Limit: l.Rate, Remaining: l.Rate - c, RetryAfter: end, ResetAfter: end}, nil
	}
	f.counts[k] = c + n
	return store.RateResult{Allowed: true, Limit: l.Rate, Remaining: l.Rate - c - n, ResetAfter: end}, nil
}

// storeKinds builds each store the enforcement tests run against.
var storeKinds = []struct {
	name string
	new  func(t testing.TB, now func() time.Time) store.Store
}{
	{"fake", func(_ testing.TB, now func() time.Time) store.Store { return newFake(now) }},
	{"memory", func(t testing.TB, now func() time.Time) store.Store { return newMemory(t, now) }},
}

func newMemory(t testing.TB, now func() time.Time) *store.Memory {
	m, err := store.NewMemory(store.MemoryOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// faulty wraps a store and fails on demand: with errFail, or by
// blocking until the context ends.
type faulty struct {
	store.Store
	mode  atomic.Int32 // 0 pass, 1 error, 2 block
	calls atomic.Int64
	// budget is, for the last blocked call, how far its context's
	// deadline lay when the call began (-1: no deadline).
	budget atomic.Int64
}

const (
	pass = iota
	fail
	block
)

var errDown = fmt.Errorf("%w: connection refused", store.ErrUnavailable)

func (f *faulty) AllowN(ctx context.Context, key string, l store.Limit, n int64) (store.RateResult, error) {
	f.calls.Add(1)
	switch f.mode.Load() {
	case fail:
		return store.RateResult{}, errDown
	case block:
		f.budget.Store(-1)
		if dl, ok := ctx.Deadline(); ok {
			f.budget.Store(int64(time.Until(dl)))
		}
		<-ctx.Done()
		return store.RateResult{}, fmt.Errorf("%w: %w", store.ErrUnavailable, ctx.Err())
	}
	return f.Store.AllowN(ctx, key, l, n)
}

// request builds a request as the listener would, with client IP and
// identity in its reqinfo.Info.
func request(ip string, id *identity.Identity) *http.Request {
	r := httptest.NewRequest("GET", "/things?x=1", nil)
	info := &reqinfo.Info{Route: "api", Identity: id}
	if ip != "" {
		info.ClientIP = netip.MustParseAddr(ip)
	}
	return r.WithContext(reqinfo.NewContext(r.Context(), info))
}

func consumer(name string) *identity.Identity {
	return &identity.Identity{Method: "jwt", Subject: "sub-" + name, Consumer: &identity.Consumer{Name: name}}
}

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func mustNew(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// logBuf collects log lines.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) count(substr string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for line := range strings.SplitSeq(b.buf.String(), "\n") {
		if strings.Contains(line, substr) {
			n++
		}
	}
	return n
}

func (b *logBuf) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// decisions counts OnDecision and OnError calls.
type decisions struct {
	mu      sync.Mutex
	allowed map[string]int
	refused map[string]int
	errs    []error
}

func newDecisions() *decisions {
	return &decisions{allowed: map[string]int{}, refused: map[string]int{}}
}

func (d *decisions) onDecision(rule string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ok {
		d.allowed[rule]++
	} else {
		d.refused[rule]++
	}
}

func (d *decisions) onError(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errs = append(d.errs, err)
}

func (d *decisions) errCount(target error) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, e := range d.errs {
		if errors.Is(e, target) {
			n++
		}
	}
	return n
}
