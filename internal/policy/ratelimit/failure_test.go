package ratelimit

import (
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/store"
)

// failing builds a limiter over a faulty store with a fake clock.
func failing(t *testing.T, mode FailMode, tweak func(*Config)) (http.Handler, *faulty, *clock, *decisions, *logBuf) {
	t.Helper()
	clk := newClock()
	f := &faulty{Store: newMemory(t, clk.Now)}
	d := newDecisions()
	logs := &logBuf{}
	cfg := Config{
		Route: "api",
		Rules: []Rule{
			{Name: "per-second", Limit: store.Limit{Rate: 4, Period: time.Second}},
			{Name: "per-minute", Limit: store.Limit{Rate: 100, Period: time.Minute}},
		},
		Store:      f,
		Local:      newMemory(t, clk.Now),
		FailMode:   mode,
		Instances:  2,
		Headers:    true,
		OnDecision: d.onDecision,
		OnError:    d.onError,
		Logger:     logs.logger(),
		Now:        clk.Now,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	return mustNew(t, cfg).Wrap(okHandler), f, clk, d, logs
}

func TestFailOpen(t *testing.T) {
	h, f, _, d, _ := failing(t, FailOpen, nil)
	f.mode.Store(fail)
	for range 10 {
		rec := serve(h, request("192.0.2.1", nil))
		if rec.Code != 200 {
			t.Fatalf("status %d", rec.Code)
		}
		if rec.Header().Get("RateLimit-Limit") != "" {
			t.Fatal("headers without a decision")
		}
	}
	// Every request is counted as a limiter error, none as a decision.
	if n := d.errCount(store.ErrUnavailable); n != 10 {
		t.Fatalf("%d errors", n)
	}
	if len(d.allowed)+len(d.refused) != 0 {
		t.Fatalf("decisions %v %v", d.allowed, d.refused)
	}
}

func TestFailClosed(t *testing.T) {
	h, f, _, d, _ := failing(t, FailClosed, nil)
	f.mode.Store(fail)
	rec := serve(h, request("192.0.2.1", nil))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Content-Type") != problem.ContentType {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	var p problem.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Status != 503 {
		t.Fatal(p, err)
	}
	if d.errCount(errDown) != 1 || len(d.refused) != 0 {
		t.Fatal("not counted as an error")
	}
}

// FailLocal decides with the local store at Rate ÷ Instances.
func TestFailLocal(t *testing.T) {
	h, f, _, d, _ := failing(t, FailLocal, func(c *Config) { c.Breaker.Failures = 1000 })
	f.mode.Store(fail)
	var got []int
	for range 3 {
		got = append(got, serve(h, request("192.0.2.1", nil)).Code)
	}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 { // 4 ÷ 2 instances
		t.Fatal(got)
	}
	rec := serve(h, request("192.0.2.1", nil))
	if rec.Header().Get("RateLimit-Limit") != "2" {
		t.Fatalf("local headers %v", rec.Header())
	}
	if d.refused["per-second"] != 2 || d.errCount(errDown) != 4 {
		t.Fatalf("refused %v errors %d", d.refused, len(d.errs))
	}
	// Recovery: the shared store decides again, at the full rate.
	f.mode.Store(pass)
	for i := range 4 {
		if c := serve(h, request("192.0.2.1", nil)).Code; c != 200 {
			t.Fatalf("shared request %d: %d", i, c)
		}
	}
}

// A store that hangs costs at most about Timeout, in every mode: the call
// gets a context whose deadline is at most Timeout away. That is checked
// exactly; the wall-clock bound only catches a hang (a tight one would
// fail whenever a loaded machine deschedules the test).
func TestBlockingStoreBounded(t *testing.T) {
	for _, mode := range []FailMode{FailOpen, FailClosed, FailLocal} {
		t.Run(string(mode), func(t *testing.T) {
			h, f, _, d, _ := failing(t, mode, func(c *Config) { c.Timeout = 20 * time.Millisecond; c.Instances = 1 })
			f.mode.Store(block)
			for range 3 {
				start := time.Now()
				rec := serve(h, request("192.0.2.1", nil))
				if b := time.Duration(f.budget.Load()); b <= 0 || b > 20*time.Millisecond {
					t.Fatalf("the store call's deadline was %v away, want at most the 20ms timeout", b)
				}
				if el := time.Since(start); el > 5*time.Second {
					t.Fatalf("took %v", el)
				}
				want := map[FailMode]int{FailOpen: 200, FailClosed: 503, FailLocal: 200}[mode]
				if rec.Code != want {
					t.Fatalf("status %d, want %d", rec.Code, want)
				}
			}
			// One call per request: the first failing rule ends the attempt.
			if f.calls.Load() != 3 || d.errCount(store.ErrUnavailable) != 3 {
				t.Fatalf("calls %d errors %d", f.calls.Load(), len(d.errs))
			}
		})
	}
}

func TestBreaker(t *testing.T) {
	h, f, clk, d, logs := failing(t, FailOpen, func(c *Config) {
		c.Breaker = BreakerConfig{Failures: 3, OpenFor: time.Second}
	})
	f.mode.Store(fail)
	for range 3 {
		serve(h, request("192.0.2.1", nil))
	}
	if f.calls.Load() != 3 {
		t.Fatalf("calls %d", f.calls.Load())
	}
	// Open: the store is not called, requests are still answered.
	for range 5 {
		if serve(h, request("192.0.2.1", nil)).Code != 200 {
			t.Fatal("fail open")
		}
	}
	if f.calls.Load() != 3 || d.errCount(ErrBreakerOpen) != 5 {
		t.Fatalf("calls %d, breaker errors %d", f.calls.Load(), d.errCount(ErrBreakerOpen))
	}
	// Half-open after OpenFor: one probe; it fails, so open again.
	clk.Advance(time.Second)
	serve(h, request("192.0.2.1", nil))
	serve(h, request("192.0.2.1", nil))
	if f.calls.Load() != 4 {
		t.Fatalf("calls %d after a failed probe", f.calls.Load())
	}
	// The store is back: the next probe closes the breaker.
	f.mode.Store(pass)
	clk.Advance(time.Second)
	for range 3 {
		rec := serve(h, request("192.0.2.1", nil))
		if rec.Header().Get("RateLimit-Limit") == "" {
			t.Fatal("not decided by the store after recovery")
		}
	}
	// 2 rules × 3 requests after the probe.
	if f.calls.Load() != 4+6 {
		t.Fatalf("calls %d after recovery", f.calls.Load())
	}
	if logs.count("store recovered") != 1 {
		t.Fatalf("logs:\n%s", logs.buf.String())
	}
}

// A half-open breaker lets exactly one probe through at a time.
func TestGuardSingleProbe(t *testing.T) {
	clk := newClock()
	g, err := NewGuard(GuardConfig{Breaker: BreakerConfig{Failures: 1, OpenFor: time.Second}, Logger: (&logBuf{}).logger(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	probe, err := g.Enter()
	if probe || err != nil {
		t.Fatal("closed breaker")
	}
	g.Exit(errDown, false)
	if !g.Open() {
		t.Fatal("not open after 1 failure")
	}
	clk.Advance(time.Second)
	p1, err1 := g.Enter()
	p2, err2 := g.Enter()
	if !p1 || err1 != nil || p2 || !errors.Is(err2, ErrBreakerOpen) {
		t.Fatal(p1, err1, p2, err2)
	}
	g.Exit(nil, true)
	if g.Open() {
		t.Fatal("still open after a good probe")
	}
	// Invalid-argument errors (bad config) do not open the breaker.
	for range 3 {
		g.Exit(store.ErrInvalidArgument, false)
	}
	if g.Open() {
		t.Fatal("opened by invalid-argument errors")
	}
}

// Failures are logged at most once per LogEvery, recovery once.
func TestFailureLogThrottled(t *testing.T) {
	h, f, clk, _, logs := failing(t, FailOpen, func(c *Config) { c.Breaker.Failures = 1_000_000 })
	f.mode.Store(fail)
	for range 50 {
		serve(h, request("192.0.2.1", nil))
	}
	if n := logs.count("store unavailable"); n != 1 {
		t.Fatalf("%d failure lines", n)
	}
	clk.Advance(9 * time.Second)
	serve(h, request("192.0.2.1", nil))
	if n := logs.count("store unavailable"); n != 1 {
		t.Fatalf("%d failure lines before the interval", n)
	}
	clk.Advance(time.Second)
	serve(h, request("192.0.2.1", nil))
	if n := logs.count("store unavailable"); n != 2 || logs.count("suppressed=50") != 1 {
		t.Fatalf("%d failure lines:\n%s", n, logs.buf.String())
	}
	f.mode.Store(pass)
	for range 5 {
		serve(h, request("192.0.2.1", nil))
	}
	if logs.count("store recovered") != 1 || logs.count("failing_for=10s") != 1 {
		t.Fatalf("recovery lines:\n%s", logs.buf.String())
	}
	// A flapping store: a blip within the interval logs nothing more.
	f.mode.Store(fail)
	serve(h, request("192.0.2.1", nil))
	f.mode.Store(pass)
	serve(h, request("192.0.2.1", nil))
	if logs.count("store unavailable") != 2 || logs.count("store recovered") != 1 {
		t.Fatalf("flapping:\n%s", logs.buf.String())
	}
}
