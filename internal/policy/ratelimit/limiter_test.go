package ratelimit

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/store"
)

func perSecondPerMinute(st store.Store, now func() time.Time, d *decisions) Config {
	return Config{
		Route: "api",
		Rules: []Rule{
			{Name: "per-second", Limit: store.Limit{Rate: 3, Period: time.Second}, Key: []KeyPart{{Kind: KindClientIP}}},
			{Name: "per-minute", Limit: store.Limit{Rate: 5, Period: time.Minute}, Key: []KeyPart{{Kind: KindClientIP}}},
		},
		Store:      st,
		Headers:    true,
		Now:        now,
		OnDecision: d.onDecision,
		OnError:    d.onError,
	}
}

// Both rules are enforced: 3 per second first, then 5 per minute.
func TestTwoRules(t *testing.T) {
	for _, sk := range storeKinds {
		t.Run(sk.name, func(t *testing.T) {
			clk := newClock()
			d := newDecisions()
			h := mustNew(t, perSecondPerMinute(sk.new(t, clk.Now), clk.Now, d)).Wrap(okHandler)
			codes := func(n int, ip string) string {
				var b strings.Builder
				for range n {
					b.WriteString(http.StatusText(serve(h, request(ip, nil)).Code)[:2])
					b.WriteByte(' ')
				}
				return b.String()
			}
			if got := codes(4, "192.0.2.1"); got != "OK OK OK To " {
				t.Fatalf("first second: %s", got)
			}
			if d.refused["per-second"] != 1 || d.refused["per-minute"] != 0 {
				t.Fatalf("refusals %v", d.refused)
			}
			// Another client has its own counters.
			if got := codes(1, "192.0.2.2"); got != "OK " {
				t.Fatalf("other client: %s", got)
			}
			// Two seconds on, the per-second window is clear; the
			// per-minute one has 2 of 5 left.
			clk.Advance(2 * time.Second)
			if got := codes(2, "192.0.2.1"); got != "OK OK " {
				t.Fatalf("later: %s", got)
			}
			rec := serve(h, request("192.0.2.1", nil))
			if !strings.Contains(rec.Body.String(), `rate limit \"per-minute\" exceeded`) {
				t.Fatalf("body %s", rec.Body)
			}
			if d.refused["per-minute"] != 1 || d.allowed["per-minute"] != 6 { // 5 + the other client
				t.Fatalf("refused %v allowed %v", d.refused, d.allowed)
			}
			// Per-second refusals did not consume the per-minute rule:
			// once the minute has slid out (two windows on, for the sliding
			// estimate) the client gets the whole per-second allowance.
			clk.Advance(2 * time.Minute)
			if got := codes(4, "192.0.2.1"); got != "OK OK OK To " {
				t.Fatalf("next minute: %s", got)
			}
			if len(d.errs) != 0 {
				t.Fatalf("errors %v", d.errs)
			}
		})
	}
}

func TestHeadersMostRestrictive(t *testing.T) {
	clk := newClock()
	cfg := Config{
		Route: "api",
		Rules: []Rule{
			{Name: "burst", Limit: store.Limit{Rate: 10, Period: time.Second}},
			{Name: "hourly", Limit: store.Limit{Rate: 5, Period: time.Hour}},
		},
		Store:   newFake(clk.Now),
		Headers: true,
		Now:     clk.Now,
	}
	clk.Advance(15 * time.Minute)
	h := mustNew(t, cfg).Wrap(okHandler)
	rec := serve(h, request("192.0.2.1", nil))
	want := map[string]string{
		"RateLimit-Limit":     "5",
		"RateLimit-Remaining": "4",
		"RateLimit-Reset":     "2700", // 45 minutes to the fake's window end
		"RateLimit-Policy":    "10;w=1, 5;w=3600",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if rec.Header().Get("Retry-After") != "" {
		t.Error("Retry-After on an allowed response")
	}
	for range 4 {
		serve(h, request("192.0.2.1", nil))
	}
	rec = serve(h, request("192.0.2.1", nil))
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status %d", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "2700" {
		t.Errorf("Retry-After %q", got)
	}
	if got := rec.Header().Get("RateLimit-Remaining"); got != "0" {
		t.Errorf("remaining %q", got)
	}
	if ct := rec.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Errorf("content type %q", ct)
	}
	var p problem.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Status != 429 || p.Title != "Too Many Requests" || p.Detail != `rate limit "hourly" exceeded; retry in 2700 s` {
		t.Fatalf("problem %+v", p)
	}
}

// Retry-After rounds up to whole seconds, and is never 0.
func TestRetryAfterRoundsUp(t *testing.T) {
	clk := newClock()
	h := mustNew(t, Config{Route: "api", Rules: []Rule{{Limit: store.Limit{Rate: 1, Period: time.Second}}}, Store: newFake(clk.Now), Now: clk.Now}).Wrap(okHandler)
	serve(h, request("192.0.2.1", nil))
	clk.Advance(100 * time.Millisecond)
	rec := serve(h, request("192.0.2.1", nil))
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("%d %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	// Headers false: no RateLimit-* but Retry-After stays.
	if rec.Header().Get("RateLimit-Limit") != "" {
		t.Fatal("RateLimit headers without Headers")
	}
	if ceilSeconds(999*time.Millisecond) != 1 || ceilSeconds(time.Second) != 1 || ceilSeconds(1001*time.Millisecond) != 2 || ceilSeconds(0) != 0 {
		t.Fatal("ceilSeconds")
	}
}

// GCRA rules with the real store: burst, then the steady rate.
func TestGCRAWithMemory(t *testing.T) {
	clk := newClock()
	h := mustNew(t, Config{
		Route:   "api",
		Rules:   []Rule{{Name: "g", Limit: store.Limit{Algorithm: store.GCRA, Rate: 10, Period: time.Second, Burst: 3}}},
		Store:   newMemory(t, clk.Now),
		Headers: true,
		Now:     clk.Now,
	}).Wrap(okHandler)
	for i := range 3 {
		if c := serve(h, request("192.0.2.1", nil)).Code; c != 200 {
			t.Fatalf("request %d: %d", i, c)
		}
	}
	rec := serve(h, request("192.0.2.1", nil))
	if rec.Code != 429 || rec.Header().Get("RateLimit-Limit") != "3" || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	clk.Advance(100 * time.Millisecond) // one emission interval
	if c := serve(h, request("192.0.2.1", nil)).Code; c != 200 {
		t.Fatalf("after one interval: %d", c)
	}
}

// Cost counts a request as several.
func TestCost(t *testing.T) {
	clk := newClock()
	h := mustNew(t, Config{Route: "api", Rules: []Rule{{Limit: store.Limit{Rate: 5, Period: time.Second}, Cost: 2}}, Store: newMemory(t, clk.Now)}).Wrap(okHandler)
	got := []int{serve(h, request("192.0.2.1", nil)).Code, serve(h, request("192.0.2.1", nil)).Code, serve(h, request("192.0.2.1", nil)).Code}
	if got[0] != 200 || got[1] != 200 || got[2] != 429 {
		t.Fatal(got)
	}
}

// Keys per consumer: each consumer its own counter; anonymous requests
// fall back to their IP, never to a shared key or a consumer's.
func TestConsumerKeyEndToEnd(t *testing.T) {
	clk := newClock()
	h := mustNew(t, Config{Route: "api", Rules: []Rule{{Limit: store.Limit{Rate: 1, Period: time.Minute}, Key: []KeyPart{{Kind: KindConsumer}}}}, Store: newMemory(t, clk.Now)}).Wrap(okHandler)
	steps := []struct {
		ip   string
		who  string
		want int
	}{
		{"192.0.2.1", "alice", 200},
		{"192.0.2.2", "alice", 429}, // same consumer, other IP
		{"192.0.2.1", "bob", 200},
		{"192.0.2.1", "", 200}, // anonymous: keyed by IP
		{"192.0.2.1", "", 429},
		{"192.0.2.3", "", 200},
		{"192.0.2.3", "192.0.2.3", 200}, // a consumer named like an IP is not that IP
	}
	for i, s := range steps {
		r := request(s.ip, nil)
		if s.who != "" {
			r = request(s.ip, consumer(s.who))
		}
		if c := serve(h, r).Code; c != s.want {
			t.Fatalf("step %d (%s/%s): %d, want %d", i, s.ip, s.who, c, s.want)
		}
	}
}

// A purely local limiter (no shared store) uses Local and never fails over.
func TestLocalOnly(t *testing.T) {
	clk := newClock()
	d := newDecisions()
	h := mustNew(t, Config{Route: "api", Rules: []Rule{{Limit: store.Limit{Rate: 1, Period: time.Minute}}}, Local: newMemory(t, clk.Now), Instances: 4, OnError: d.onError}).Wrap(okHandler)
	if serve(h, request("192.0.2.1", nil)).Code != 200 || serve(h, request("192.0.2.1", nil)).Code != 429 {
		t.Fatal("local limiter")
	}
}

func TestConfigErrors(t *testing.T) {
	mem := newFake(time.Now)
	one := []Rule{{Limit: store.Limit{Rate: 1, Period: time.Second}}}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no rules", Config{Store: mem}, "no rules"},
		{"no store", Config{Rules: one}, "no store"},
		{"rate", Config{Store: mem, Rules: []Rule{{Limit: store.Limit{Period: time.Second}}}}, "rate must be at least 1"},
		{"period", Config{Store: mem, Rules: []Rule{{Limit: store.Limit{Rate: 1}}}}, "period must be positive"},
		{"cost", Config{Store: mem, Rules: []Rule{{Limit: store.Limit{Rate: 1, Period: time.Second}, Cost: 2}}}, "exceeds the limit's capacity"},
		{"burst cost", Config{Store: mem, Rules: []Rule{{Limit: store.Limit{Algorithm: store.GCRA, Rate: 10, Period: time.Second, Burst: 1}, Cost: 2}}}, "exceeds"},
		{"gcra too fast", Config{Store: mem, Rules: []Rule{{Limit: store.Limit{Algorithm: store.GCRA, Rate: 2_000_000, Period: time.Second}}}}, "microsecond"},
		{"algorithm", Config{Store: mem, Rules: []Rule{{Limit: store.Limit{Algorithm: 9, Rate: 1, Period: time.Second}}}}, "unknown algorithm"},
		{"dup", Config{Store: mem, Rules: append(one, one...)}, `name "1-per-1s" is used twice`},
		{"key", Config{Store: mem, Rules: []Rule{{Limit: one[0].Limit, Key: []KeyPart{{Kind: "cookie"}}}}}, `unknown key part kind "cookie"`},
		{"header name", Config{Store: mem, Rules: []Rule{{Limit: one[0].Limit, Key: []KeyPart{{Kind: KindHeader}}}}}, "needs a header name"},
		{"fail mode", Config{Store: mem, Rules: one, FailMode: "opne"}, `unknown fail mode "opne"`},
		{"local without local", Config{Store: mem, Rules: one, FailMode: FailLocal}, "needs a local store"},
		{"timeout", Config{Store: mem, Rules: one, Timeout: -1}, "must not be negative"},
		{"breaker", Config{Store: mem, Rules: one, Breaker: BreakerConfig{Failures: -1}}, "must not be negative"},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "rate_limit: ") {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestDefaults(t *testing.T) {
	mem := newFake(time.Now)
	l := mustNew(t, Config{Store: mem, Local: mem, Rules: []Rule{{Limit: store.Limit{Algorithm: store.GCRA, Rate: 8, Period: time.Second}}}, Instances: 3})
	ru := l.rules[0]
	if l.failMode != FailLocal || l.timeout != 20*time.Millisecond || ru.cost != 1 || ru.limit.Burst != 8 ||
		ru.local.Rate != 2 || ru.local.Burst != 2 || ru.name != "8-per-1s" || ru.prefix != "rl::8-per-1s:" {
		t.Fatalf("%+v %+v", l, ru)
	}
	l = mustNew(t, Config{Store: mem, Rules: []Rule{{Limit: store.Limit{Rate: 1, Period: time.Second}}}})
	if l.failMode != FailOpen {
		t.Fatal(l.failMode)
	}
}
