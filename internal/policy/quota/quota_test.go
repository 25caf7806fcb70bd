package quota

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/ratelimit"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/store"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// faulty fails Consume on demand (error, or block until the deadline).
type faulty struct {
	store.Store
	mode  atomic.Int32
	calls atomic.Int64
	// budget is, for the last blocked call, how far its context's
	// deadline lay when the call began (-1: no deadline).
	budget atomic.Int64
}

func (f *faulty) Consume(ctx context.Context, key string, n, max int64, exp time.Time) (store.QuotaResult, error) {
	f.calls.Add(1)
	switch f.mode.Load() {
	case 1:
		return store.QuotaResult{}, fmt.Errorf("%w: down", store.ErrUnavailable)
	case 2:
		f.budget.Store(-1)
		if dl, ok := ctx.Deadline(); ok {
			f.budget.Store(int64(time.Until(dl)))
		}
		<-ctx.Done()
		return store.QuotaResult{}, fmt.Errorf("%w: %w", store.ErrUnavailable, ctx.Err())
	}
	return f.Store.Consume(ctx, key, n, max, exp)
}

func newMemory(t testing.TB, now func() time.Time) *store.Memory {
	m, err := store.NewMemory(store.MemoryOptions{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func request(who string) *http.Request {
	r := httptest.NewRequest("GET", "/x", nil)
	info := &reqinfo.Info{ClientIP: netip.MustParseAddr("192.0.2.1"), Route: "api"}
	if who != "" {
		info.Identity = &identity.Identity{Method: "jwt", Subject: who, Consumer: &identity.Consumer{Name: who}}
	}
	return r.WithContext(reqinfo.NewContext(r.Context(), info))
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func mustNew(t testing.TB, cfg Config) *Quota {
	t.Helper()
	q, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestLimitExactAndDayRollover(t *testing.T) {
	clk := &clock{t: time.Date(2025, 3, 1, 23, 59, 0, 0, time.UTC)}
	st := newMemory(t, clk.Now)
	var allowed, refused int
	h := mustNew(t, Config{Route: "api", Limit: 3, Period: Day, Store: st, Now: clk.Now,
		OnDecision: func(ok bool) {
			if ok {
				allowed++
			} else {
				refused++
			}
		}}).Wrap(ok)
	for i := range 3 {
		rec := serve(h, request("alice"))
		if rec.Code != 200 || rec.Header().Get("X-Quota-Remaining") != fmt.Sprint(2-i) ||
			rec.Header().Get("X-Quota-Limit") != "3" || rec.Header().Get("X-Quota-Reset") != "60" {
			t.Fatalf("request %d: %d %v", i, rec.Code, rec.Header())
		}
	}
	for range 3 { // refusals consume nothing and keep refusing
		rec := serve(h, request("alice"))
		if rec.Code != 429 || rec.Header().Get("Retry-After") != "60" || rec.Header().Get("X-Quota-Remaining") != "0" {
			t.Fatalf("%d %v", rec.Code, rec.Header())
		}
		var p problem.Details
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != 429 || !strings.Contains(p.Detail, "3 requests per day") {
			t.Fatal(p, err)
		}
	}
	if used, _, _ := Usage(context.Background(), st, "route:api", "alice", Day, 0, clk.Now()); used != 3 {
		t.Fatalf("used %d", used)
	}
	// Another consumer has its own allowance.
	if serve(h, request("bob")).Code != 200 {
		t.Fatal("bob")
	}
	// Midnight UTC: a fresh day.
	clk.Set(time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC))
	rec := serve(h, request("alice"))
	if rec.Code != 200 || rec.Header().Get("X-Quota-Remaining") != "2" || rec.Header().Get("X-Quota-Reset") != "86400" {
		t.Fatalf("next day: %d %v", rec.Code, rec.Header())
	}
	if allowed != 5 || refused != 3 {
		t.Fatal(allowed, refused)
	}
}

func TestMonthRollover(t *testing.T) {
	clk := &clock{t: time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)}
	st := newMemory(t, clk.Now)
	h := mustNew(t, Config{Route: "api", Limit: 1, Period: Month, Store: st, Now: clk.Now}).Wrap(ok)
	if serve(h, request("alice")).Code != 200 {
		t.Fatal("first")
	}
	rec := serve(h, request("alice"))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != fmt.Sprint(12*3600) {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	clk.Set(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC))
	if serve(h, request("alice")).Code != 200 {
		t.Fatal("new month")
	}
}

func TestCounterKey(t *testing.T) {
	at := time.Date(2025, 12, 31, 22, 30, 0, 0, time.FixedZone("x", 3600)) // 21:30 UTC
	cases := []struct {
		p      Period
		w      time.Duration
		key    string
		resets time.Time
	}{
		{Day, 0, "q:gold:alice:2025-12-31", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Month, 0, "q:gold:alice:2025-12", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Rolling, time.Hour, fmt.Sprintf("q:gold:alice:3600s@%d", time.Date(2025, 12, 31, 21, 0, 0, 0, time.UTC).Unix()), time.Date(2025, 12, 31, 22, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		k, end := CounterKey("gold", "alice", c.p, c.w, at)
		if k != c.key || !end.Equal(c.resets) {
			t.Errorf("%s: %q %v, want %q %v", c.p, k, end, c.key, c.resets)
		}
	}
	// Scopes are escaped: "a:b" cannot pose as scope "a", key "b:...".
	if k, _ := CounterKey("a:b", "c", Day, 0, at); k != "q:a%3Ab:c:2025-12-31" {
		t.Fatal(k)
	}
	// Before 1970 the rolling window still floors.
	if k, _ := CounterKey("s", "k", Rolling, 10*time.Second, time.Unix(-5, 0)); k != "q:s:k:10s@-10" {
		t.Fatal(k)
	}
}

func TestRollingWindow(t *testing.T) {
	clk := &clock{t: time.Unix(7200+1800, 0)} // half way through the window [7200, 10800)
	st := newMemory(t, clk.Now)
	h := mustNew(t, Config{Route: "api", Limit: 2, Period: Rolling, Window: time.Hour, Store: st, Now: clk.Now}).Wrap(ok)
	serve(h, request("alice"))
	serve(h, request("alice"))
	rec := serve(h, request("alice"))
	// Both requests stay in the rolling hour until half of them has
	// slid out: half way through the next fixed window.
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "3600" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	// At the boundary a fixed window would start afresh; the rolling
	// window still holds both requests.
	clk.Set(time.Unix(3*3600, 0))
	if rec := serve(h, request("alice")); rec.Code != 429 || rec.Header().Get("Retry-After") != "1800" {
		t.Fatalf("at the boundary: %d %v", rec.Code, rec.Header())
	}
	// Half way on, one of the two has slid out.
	clk.Set(time.Unix(3*3600+1800, 0))
	if rec := serve(h, request("alice")); rec.Code != 200 || rec.Header().Get("X-Quota-Remaining") != "0" {
		t.Fatalf("half way: %d %v", rec.Code, rec.Header())
	}
	if serve(h, request("alice")).Code != 429 {
		t.Fatal("a third request within the rolling hour was allowed")
	}
	ctx := context.Background()
	used, _, err := Usage(ctx, st, "route:api", ratelimit.KeyValue("alice"), Rolling, time.Hour, clk.Now())
	if err != nil || used != 2 {
		t.Fatalf("usage %d %v", used, err)
	}
	if err := Reset(ctx, st, "route:api", ratelimit.KeyValue("alice"), Rolling, time.Hour, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if used, _, _ := Usage(ctx, st, "route:api", ratelimit.KeyValue("alice"), Rolling, time.Hour, clk.Now()); used != 0 {
		t.Fatalf("usage %d after reset (the previous window must go too)", used)
	}
}

func TestRollingWait(t *testing.T) {
	for _, c := range []struct {
		limit, prev, curr int64
		left, want        time.Duration
	}{
		{10, 0, 10, 30 * time.Minute, 30*time.Minute + 6*time.Minute},  // current alone full: wait into the next window
		{10, 10, 5, 30 * time.Minute, 30*time.Minute - 24*time.Minute}, // previous share must fall to 4
		{10, 2, 5, 30 * time.Minute, 0},
	} {
		if got := rollingWait(c.limit, c.prev, c.curr, c.left, time.Hour); got != c.want {
			t.Errorf("%+v: %v", c, got)
		}
	}
	if weighted(3, 20*time.Minute, time.Hour) != 1 || weighted(4, 20*time.Minute, time.Hour) != 2 || weighted(5, 0, time.Hour) != 0 {
		t.Error("weighted rounding")
	}
}

// Routes with the same scope share one allowance; the admin API reads
// and resets it.
func TestSharedScopeUsageReset(t *testing.T) {
	clk := &clock{t: time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)}
	st := newMemory(t, clk.Now)
	a := mustNew(t, Config{Route: "a", Scope: "gold", Limit: 3, Period: Month, Store: st, Now: clk.Now}).Wrap(ok)
	b := mustNew(t, Config{Route: "b", Scope: "gold", Limit: 3, Period: Month, Store: st, Now: clk.Now}).Wrap(ok)
	serve(a, request("alice"))
	serve(b, request("alice"))
	serve(a, request("alice"))
	if serve(b, request("alice")).Code != 429 {
		t.Fatal("scope not shared")
	}
	ctx := context.Background()
	used, resetAt, err := Usage(ctx, st, "gold", ratelimit.KeyValue("alice"), Month, 0, clk.Now())
	if err != nil || used != 3 || !resetAt.Equal(time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatal(used, resetAt, err)
	}
	if err := Reset(ctx, st, "gold", "alice", Month, 0, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if used, _, _ := Usage(ctx, st, "gold", "alice", Month, 0, clk.Now()); used != 0 {
		t.Fatalf("used %d after reset", used)
	}
	if serve(b, request("alice")).Code != 200 {
		t.Fatal("not reset")
	}
	if _, _, err := Usage(ctx, st, "gold", "alice", "week", 0, clk.Now()); err == nil {
		t.Fatal("bad period accepted")
	}
	if err := Reset(ctx, st, "gold", "alice", Rolling, 0, clk.Now()); err == nil {
		t.Fatal("bad window accepted")
	}
}

// Anonymous requests under the default consumer key count by client IP.
func TestAnonymousByIP(t *testing.T) {
	clk := &clock{t: time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)}
	st := newMemory(t, clk.Now)
	h := mustNew(t, Config{Route: "api", Limit: 1, Period: Day, Store: st, Now: clk.Now}).Wrap(ok)
	serve(h, request(""))
	if serve(h, request("")).Code != 429 || serve(h, request("alice")).Code != 200 {
		t.Fatal("anonymous not keyed by IP")
	}
	if used, _, _ := Usage(context.Background(), st, "route:api", ":192.0.2.1", Day, 0, clk.Now()); used != 1 {
		t.Fatal(used)
	}
}

func TestFailModes(t *testing.T) {
	for _, c := range []struct {
		mode ratelimit.FailMode
		want int
	}{{ratelimit.FailOpen, 200}, {ratelimit.FailClosed, 503}, {"", 200}} {
		for _, m := range []int32{1, 2} {
			clk := &clock{t: time.Date(2025, 3, 10, 8, 0, 0, 0, time.UTC)}
			f := &faulty{Store: newMemory(t, clk.Now)}
			f.mode.Store(m)
			var errs atomic.Int64
			h := mustNew(t, Config{Route: "api", Limit: 1, Period: Day, Store: f, FailMode: c.mode, Timeout: 20 * time.Millisecond,
				Breaker: ratelimit.BreakerConfig{Failures: 2, OpenFor: time.Second}, Now: clk.Now,
				OnError: func(error) { errs.Add(1) }}).Wrap(ok)
			for range 4 {
				start := time.Now()
				rec := serve(h, request("alice"))
				// A blocked store is cut at the 20ms timeout: its call's
				// deadline is checked exactly, the wall clock only
				// against a hang (a loaded machine may deschedule us).
				if rec.Code != c.want || time.Since(start) > 5*time.Second {
					t.Fatalf("%q mode %d: %d in %v", c.mode, m, rec.Code, time.Since(start))
				}
				if b := time.Duration(f.budget.Load()); m == 2 && f.calls.Load() > 0 && (b <= 0 || b > 20*time.Millisecond) {
					t.Fatalf("%q mode %d: the store call's deadline was %v away, want at most the 20ms timeout", c.mode, m, b)
				}
				if rec.Header().Get("X-Quota-Limit") != "" {
					t.Fatal("quota headers without a decision")
				}
			}
			// The breaker opened after 2 failures; every request counted.
			if f.calls.Load() != 2 || errs.Load() != 4 {
				t.Fatalf("calls %d errors %d", f.calls.Load(), errs.Load())
			}
			// Recovery after the open period.
			f.mode.Store(0)
			clk.Set(clk.Now().Add(time.Second))
			if rec := serve(h, request("alice")); rec.Code != 200 || rec.Header().Get("X-Quota-Remaining") != "0" {
				t.Fatalf("after recovery: %d %v", rec.Code, rec.Header())
			}
		}
	}
}

func TestConfigErrors(t *testing.T) {
	st := newMemory(t, nil)
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Store: st, Period: Day}, "limit must be at least 1"},
		{Config{Limit: 1, Period: Day}, "no store"},
		{Config{Limit: 1, Store: st, Period: "week"}, `unknown period "week"`},
		{Config{Limit: 1, Store: st, Period: Rolling}, "rolling window"},
		{Config{Limit: 1, Store: st, Period: Rolling, Window: 1500 * time.Millisecond}, "whole number of seconds"},
		{Config{Limit: 1, Store: st, Period: Day, Window: time.Hour}, "rolling only"},
		{Config{Limit: 1, Store: st, Period: Day, FailMode: ratelimit.FailLocal}, `unknown fail mode "local"`},
		{Config{Limit: 1, Store: st, Period: Day, Key: []ratelimit.KeyPart{{Kind: "x"}}}, "unknown key part"},
		{Config{Limit: 1, Store: st, Period: Day, Timeout: -1}, "negative"},
	}
	for _, c := range cases {
		if _, err := New(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "quota: ") {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

func BenchmarkWrapAllowed(b *testing.B) {
	st := newMemory(b, nil)
	h := mustNew(b, Config{Route: "api", Limit: 1 << 50, Period: Month, Store: st}).Wrap(ok)
	r := request("alice")
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		clear(w.Header())
		h.ServeHTTP(w, r)
	}
}

func BenchmarkCounterKey(b *testing.B) {
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		CounterKey("gold", "alice", Day, 0, now)
	}
}
