package store

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// harness is one Store under test with its clock: Memory gets a fake
// clock, Redis the real one (its scripts read the server's TIME).
type harness struct {
	s Store
	// now is the store's current time.
	now func() time.Time
	// sleepUntil makes the store's clock reach at least t.
	sleepUntil func(t time.Time)
}

func (h harness) advance(d time.Duration) { h.sleepUntil(h.now().Add(d)) }

// fakeClock is a settable clock for Memory.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	// On a whole hour: window boundaries of the tests' periods.
	c.ns.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time { return time.Unix(0, c.ns.Load()) }

func (c *fakeClock) Set(t time.Time) {
	if ns := t.UnixNano(); ns > c.ns.Load() {
		c.ns.Store(ns)
	}
}

func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func newMemoryHarness(t *testing.T) harness {
	t.Helper()
	clk := newFakeClock()
	m, err := NewMemory(MemoryOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return harness{s: m, now: clk.Now, sleepUntil: clk.Set}
}

func realSleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// forEachStore runs f against every implementation.
func forEachStore(t *testing.T, f func(t *testing.T, h harness)) {
	t.Run("Memory", func(t *testing.T) { f(t, newMemoryHarness(t)) })
	for _, m := range redisModes {
		t.Run(m.name, func(t *testing.T) { f(t, newRedisHarness(t, m.opt)) })
	}
}

func allow(t *testing.T, s Store, key string, l Limit, n int64) RateResult {
	t.Helper()
	r, err := s.AllowN(t.Context(), key, l, n)
	if err != nil {
		t.Fatalf("AllowN(%q, n=%d): %v", key, n, err)
	}
	return r
}

func TestBehaviour(t *testing.T) {
	cases := []struct {
		name string
		f    func(t *testing.T, h harness)
	}{
		{"GCRABurstThenRefuse", testGCRABurst},
		{"GCRARefusalConsumesNothing", testGCRARefusalFree},
		{"GCRACost", testGCRACost},
		{"GCRACostAboveBurst", testGCRACostAboveBurst},
		{"GCRAPeek", testGCRAPeek},
		{"SlidingExactRate", testSlidingExact},
		{"SlidingCostAndRefusalFree", testSlidingCost},
		{"SlidingRefill", testSlidingRefill},
		{"SlidingWeightsPreviousWindow", testSlidingWeighted},
		{"AlgorithmsKeptApart", testAlgorithmsApart},
		{"InvalidArguments", testInvalid},
		{"Consume", testConsume},
		{"ConsumeExpiry", testConsumeExpiry},
		{"DeleteCounter", testDeleteCounter},
		{"Values", testValues},
		{"ValueTTL", testValueTTL},
		{"NamespacesApart", testNamespaces},
		{"DeletePrefix", testDeletePrefix},
		{"DeletePrefixGlobLiteral", testDeletePrefixGlob},
		{"Close", testClose},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			forEachStore(t, c.f)
		})
	}
}

// Timing of the real-clock (Redis) runs: the behaviour tests below read
// the store's clock, which for Redis is the server's real one. Every
// interval a test needs to fit in is therefore a second or more (not
// 100 ms), so that a loaded machine descheduling the test for a while
// cannot move a request into another interval, and where a test cannot
// help depending on where in a window it starts it first waits for a
// clear stretch (windowClear) or checks afterwards that its requests fell
// where it assumed.

// windowClear makes sure the store's clock is at least margin away from
// the end of the current epoch-aligned window of period (as the stores
// count windows), sleeping past the boundary if not. On the fake clock
// this costs nothing; on the real one it waits at most margin.
func windowClear(h harness, period, margin time.Duration) {
	now := h.now().UnixNano()
	next := (now/int64(period) + 1) * int64(period)
	if time.Duration(next-now) < margin {
		h.sleepUntil(time.Unix(0, next).Add(5 * time.Millisecond))
	}
}

func testGCRABurst(t *testing.T, h harness) {
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 3} // one per second
	// The four requests must come within one emission interval (1s) of
	// each other for the bounds below; a second is ample however loaded
	// the machine.
	for i := int64(0); i < 3; i++ {
		r := allow(t, h.s, "k", l, 1)
		if !r.Allowed || r.Remaining != 2-i || r.Limit != 3 || r.RetryAfter != 0 {
			t.Fatalf("request %d: %+v, want allowed with %d remaining", i, r, 2-i)
		}
		if r.ResetAfter <= time.Duration(i)*time.Second || r.ResetAfter > time.Duration(i+1)*time.Second {
			t.Fatalf("request %d: ResetAfter %v, want about %v", i, r.ResetAfter, time.Duration(i+1)*time.Second)
		}
	}
	r := allow(t, h.s, "k", l, 1)
	if r.Allowed || r.Remaining != 0 {
		t.Fatalf("4th: %+v, want refused", r)
	}
	if r.RetryAfter <= 0 || r.RetryAfter > time.Second {
		t.Fatalf("4th: RetryAfter %v, want in (0, 1s]", r.RetryAfter)
	}
	if r.ResetAfter <= 2*time.Second || r.ResetAfter > 3*time.Second {
		t.Fatalf("4th: ResetAfter %v, want about 3s", r.ResetAfter)
	}
	h.advance(r.RetryAfter + 2*time.Millisecond)
	if r := allow(t, h.s, "k", l, 1); !r.Allowed {
		t.Fatalf("after RetryAfter: %+v, want allowed", r)
	}
	// A different key has its own bucket.
	if r := allow(t, h.s, "other", l, 1); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("other key: %+v", r)
	}
}

func testGCRARefusalFree(t *testing.T, h harness) {
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 1} // the refusals come within the 1s interval
	if r := allow(t, h.s, "k", l, 1); !r.Allowed {
		t.Fatalf("first: %+v", r)
	}
	var last RateResult
	for range 5 {
		if last = allow(t, h.s, "k", l, 1); last.Allowed {
			t.Fatalf("refusal expected: %+v", last)
		}
	}
	// Had the refusals counted, the bucket would be 5s in debt.
	h.advance(last.RetryAfter + 2*time.Millisecond)
	if r := allow(t, h.s, "k", l, 1); !r.Allowed {
		t.Fatalf("after RetryAfter %v: %+v, want allowed", last.RetryAfter, r)
	}
}

func testGCRACost(t *testing.T, h harness) {
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Minute, Burst: 5}
	if r := allow(t, h.s, "k", l, 3); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("cost 3: %+v, want allowed, 2 remaining", r)
	}
	r := allow(t, h.s, "k", l, 3)
	if r.Allowed || r.Remaining != 2 {
		t.Fatalf("second cost 3: %+v, want refused, 2 remaining", r)
	}
	// One more token is a minute away.
	if r.RetryAfter <= 59*time.Second || r.RetryAfter > time.Minute {
		t.Fatalf("RetryAfter %v, want about 1m", r.RetryAfter)
	}
	if r := allow(t, h.s, "k", l, 2); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("cost 2: %+v, want allowed, 0 remaining", r)
	}
}

func testGCRACostAboveBurst(t *testing.T, h harness) {
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 2}
	r := allow(t, h.s, "k", l, 3)
	if r.Allowed || r.Remaining != 2 || r.RetryAfter != 2*time.Second {
		t.Fatalf("cost above burst: %+v, want refused with a full bucket, RetryAfter 2s", r)
	}
	if r := allow(t, h.s, "k", l, 2); !r.Allowed {
		t.Fatalf("cost = burst after: %+v", r)
	}
}

func testGCRAPeek(t *testing.T, h harness) {
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Minute, Burst: 2}
	for range 3 {
		if r := allow(t, h.s, "k", l, 0); !r.Allowed || r.Remaining != 2 {
			t.Fatalf("peek: %+v", r)
		}
	}
	allow(t, h.s, "k", l, 1)
	if r := allow(t, h.s, "k", l, 0); !r.Allowed || r.Remaining != 1 {
		t.Fatalf("peek after one: %+v", r)
	}
}

func testSlidingExact(t *testing.T, h harness) {
	l := Limit{Algorithm: SlidingWindow, Rate: 5, Period: time.Minute}
	windowClear(h, l.Period, 10*time.Second) // all six requests in one window
	for i := int64(0); i < 5; i++ {
		r := allow(t, h.s, "k", l, 1)
		if !r.Allowed || r.Remaining != 4-i || r.Limit != 5 || r.RetryAfter != 0 {
			t.Fatalf("request %d: %+v", i, r)
		}
		if r.ResetAfter <= time.Minute || r.ResetAfter > 2*time.Minute {
			t.Fatalf("request %d: ResetAfter %v, want the end of the next window", i, r.ResetAfter)
		}
	}
	r := allow(t, h.s, "k", l, 1)
	if r.Allowed || r.Remaining != 0 {
		t.Fatalf("6th: %+v, want refused", r)
	}
	// Allowed again in the next window once the weighted count is ≤ 4,
	// a fifth into it: between 12s and 72s away.
	if r.RetryAfter < 12*time.Second || r.RetryAfter > 72*time.Second+time.Millisecond {
		t.Fatalf("6th: RetryAfter %v", r.RetryAfter)
	}
}

func testSlidingCost(t *testing.T, h harness) {
	l := Limit{Algorithm: SlidingWindow, Rate: 5, Period: time.Minute}
	windowClear(h, l.Period, 10*time.Second) // all the requests in one window
	if r := allow(t, h.s, "k", l, 3); !r.Allowed || r.Remaining != 2 {
		t.Fatalf("cost 3: %+v", r)
	}
	for range 3 {
		if r := allow(t, h.s, "k", l, 3); r.Allowed || r.Remaining != 2 {
			t.Fatalf("cost 3 again: %+v, want refused, 2 remaining", r)
		}
	}
	if r := allow(t, h.s, "k", l, 2); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("cost 2: %+v", r)
	}
	if r := allow(t, h.s, "k", l, 6); r.Allowed || r.RetryAfter != time.Minute {
		t.Fatalf("cost above rate: %+v, want refused with RetryAfter a period", r)
	}
	if r := allow(t, h.s, "fresh", l, 0); !r.Allowed || r.Remaining != 5 {
		t.Fatalf("peek: %+v", r)
	}
}

// waitWindowStart waits until just after a window boundary, so a test's
// requests all fall in one window.
func waitWindowStart(h harness, period time.Duration) time.Time {
	now := h.now().UnixNano()
	start := time.Unix(0, (now/int64(period)+1)*int64(period))
	h.sleepUntil(start.Add(5 * time.Millisecond))
	return start
}

func testSlidingRefill(t *testing.T, h harness) {
	l := Limit{Algorithm: SlidingWindow, Rate: 2, Period: 1200 * time.Millisecond}
	// The third request is refused until the next window's start + half
	// a period (the previous window's 2 then weigh 1). Its RetryAfter is
	// that instant minus the moment the store decided, which lies between
	// the clock readings around the call: the bounds are exact however
	// long a loaded machine takes. All three must fall in one window;
	// a run that straddled a boundary is retried with a fresh key.
	for attempt := range 3 {
		key := "k" + string(rune('0'+attempt))
		start := waitWindowStart(h, l.Period)
		allow(t, h.s, key, l, 1)
		allow(t, h.s, key, l, 1)
		before := h.now()
		r := allow(t, h.s, key, l, 1)
		after := h.now()
		if after.Sub(start) >= l.Period {
			t.Logf("attempt %d: the requests straddled a window boundary, retrying", attempt)
			continue
		}
		if r.Allowed {
			t.Fatalf("3rd: %+v", r)
		}
		free := start.Add(l.Period + l.Period/2)
		const slack = 2 * time.Millisecond // the stores' clock resolution and rounding
		if lo, hi := free.Sub(after)-slack, free.Sub(before)+slack; r.RetryAfter < lo || r.RetryAfter > hi {
			t.Fatalf("RetryAfter %v, want within [%v, %v]", r.RetryAfter, lo, hi)
		}
		h.advance(r.RetryAfter + 2*time.Millisecond)
		if r := allow(t, h.s, key, l, 1); !r.Allowed {
			t.Fatalf("after RetryAfter: %+v", r)
		}
		// Still in the next window, the previous one's weight keeps the
		// count at the limit (conclusive only while the clock is there).
		r = allow(t, h.s, key, l, 1)
		if r.Allowed && h.now().Before(start.Add(2*l.Period)) {
			t.Fatalf("weighted previous window ignored: %+v", r)
		}
		return
	}
	t.Fatal("three runs in a row straddled a window boundary")
}

func testSlidingWeighted(t *testing.T, h harness) {
	l := Limit{Algorithm: SlidingWindow, Rate: 4, Period: time.Second}
	// Real clocks on a loaded machine may oversleep and break the
	// timing this needs (the fill within the first window, the second
	// batch within a quarter window); such runs are retried with a fresh
	// key. With a 1s window a retry is rare.
	for attempt := range 3 {
		key := "k" + string(rune('0'+attempt))
		start := waitWindowStart(h, l.Period)
		for range 4 {
			if r := allow(t, h.s, key, l, 1); !r.Allowed {
				t.Fatalf("fill: %+v", r)
			}
		}
		filled := h.now()
		// Half-way through the next window the previous 4 weigh 2 (a
		// bit less, time passes): exactly 2 more fit, until 3/4 in.
		h.sleepUntil(start.Add(l.Period + l.Period/2))
		got := 0
		for range 4 {
			if allow(t, h.s, key, l, 1).Allowed {
				got++
			}
		}
		if filled.After(start.Add(l.Period)) || h.now().After(start.Add(l.Period+3*l.Period/4)) {
			t.Logf("attempt %d: overslept, retrying", attempt)
			continue
		}
		if got != 2 {
			t.Fatalf("allowed %d half-way into the next window, want 2", got)
		}
		// Two windows on, everything has slid out.
		h.sleepUntil(start.Add(3 * l.Period))
		if r := allow(t, h.s, key, l, 4); !r.Allowed {
			t.Fatalf("after two windows: %+v", r)
		}
		return
	}
	t.Fatal("the machine is too slow for this test's timing")
}

func testAlgorithmsApart(t *testing.T, h harness) {
	g := Limit{Algorithm: GCRA, Rate: 1, Period: time.Minute, Burst: 1}
	w := Limit{Algorithm: SlidingWindow, Rate: 1, Period: time.Minute}
	if !allow(t, h.s, "k", g, 1).Allowed || !allow(t, h.s, "k", w, 1).Allowed {
		t.Fatal("one algorithm's state leaked into the other's")
	}
}

func testInvalid(t *testing.T, h harness) {
	bad := []struct {
		l Limit
		n int64
	}{
		{Limit{Algorithm: GCRA, Rate: 0, Period: time.Second, Burst: 1}, 1},
		{Limit{Algorithm: GCRA, Rate: 1, Period: 0, Burst: 1}, 1},
		{Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 0}, 1},
		{Limit{Algorithm: GCRA, Rate: 1e9, Period: time.Second, Burst: 1}, 1},
		{Limit{Algorithm: GCRA, Rate: 1, Period: time.Hour, Burst: 1 << 62}, 1},
		{Limit{Algorithm: SlidingWindow, Rate: 1, Period: time.Second}, -1},
		{Limit{Algorithm: SlidingWindow, Rate: -1, Period: time.Second}, 1},
		{Limit{Algorithm: 7, Rate: 1, Period: time.Second}, 1},
		{Limit{Algorithm: SlidingWindow, Rate: 1 << 54, Period: time.Second}, 1},
		{Limit{Algorithm: SlidingWindow, Rate: 1, Period: time.Second}, 1 << 54},
	}
	for _, b := range bad {
		_, err := h.s.AllowN(t.Context(), "k", b.l, b.n)
		if !errors.Is(err, ErrInvalidArgument) || errors.Is(err, ErrUnavailable) {
			t.Errorf("AllowN(%+v, %d) = %v, want ErrInvalidArgument", b.l, b.n, err)
		}
	}
	for _, q := range [][2]int64{{-1, 5}, {1, -1}, {1, 1 << 54}} {
		_, err := h.s.Consume(t.Context(), "q", q[0], q[1], time.Time{})
		if !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("Consume(n=%d, max=%d) = %v, want ErrInvalidArgument", q[0], q[1], err)
		}
	}
}

func consume(t *testing.T, s Store, key string, n, max int64, exp time.Time) QuotaResult {
	t.Helper()
	r, err := s.Consume(t.Context(), key, n, max, exp)
	if err != nil {
		t.Fatalf("Consume(%q, %d, %d): %v", key, n, max, err)
	}
	return r
}

func counterOf(t *testing.T, s Store, key string) int64 {
	t.Helper()
	v, err := s.Counter(t.Context(), key)
	if err != nil {
		t.Fatalf("Counter(%q): %v", key, err)
	}
	return v
}

func testConsume(t *testing.T, h harness) {
	exp := h.now().Add(time.Hour)
	if v := counterOf(t, h.s, "q"); v != 0 {
		t.Fatalf("absent counter = %d", v)
	}
	steps := []struct {
		n    int64
		want QuotaResult
	}{
		{2, QuotaResult{true, 2}},
		{3, QuotaResult{true, 5}},
		{1, QuotaResult{false, 5}},
		{9, QuotaResult{false, 5}},
		{0, QuotaResult{true, 5}},
	}
	for _, s := range steps {
		if got := consume(t, h.s, "q", s.n, 5, exp); got != s.want {
			t.Fatalf("Consume(%d) = %+v, want %+v", s.n, got, s.want)
		}
	}
	if v := counterOf(t, h.s, "q"); v != 5 {
		t.Fatalf("Counter = %d, want 5", v)
	}
	// A larger max (say the plan changed) lets more through.
	if got := consume(t, h.s, "q", 1, 6, exp); got != (QuotaResult{true, 6}) {
		t.Fatalf("Consume with max 6 = %+v", got)
	}
	// Peeking an absent counter does not create it.
	if got := consume(t, h.s, "none", 0, 5, exp); got != (QuotaResult{true, 0}) {
		t.Fatalf("Consume(0) on absent = %+v", got)
	}
}

func testConsumeExpiry(t *testing.T, h harness) {
	exp := h.now().Add(time.Second)
	consume(t, h.s, "q", 2, 3, exp)
	// expireAt counts from the counter's creation; later ones are
	// ignored (this one would keep the counter alive for an hour).
	consume(t, h.s, "q", 1, 3, h.now().Add(time.Hour))
	// Over quota, provided the counter has not expired yet: the check is
	// conclusive only if the clock is still before exp after the call
	// (a real clock on a loaded machine may have passed it).
	if r := consume(t, h.s, "q", 1, 3, exp); r.Allowed {
		if h.now().Before(exp) {
			t.Fatalf("over quota: %+v", r)
		}
		t.Logf("over-quota check inconclusive: the counter's expiry passed during the calls")
	}
	h.sleepUntil(exp.Add(20 * time.Millisecond))
	if v := counterOf(t, h.s, "q"); v != 0 {
		t.Fatalf("expired counter = %d", v)
	}
	if r := consume(t, h.s, "q", 1, 3, h.now().Add(time.Hour)); r != (QuotaResult{true, 1}) {
		t.Fatalf("fresh period: %+v", r)
	}
	// An expiry in the past: counted, then gone.
	consume(t, h.s, "past", 1, 3, h.now().Add(-time.Second))
	if v := counterOf(t, h.s, "past"); v != 0 {
		t.Fatalf("counter expired at creation = %d", v)
	}
	// Zero expireAt: never expires.
	consume(t, h.s, "forever", 1, 3, time.Time{})
	h.advance(10 * time.Millisecond)
	if v := counterOf(t, h.s, "forever"); v != 1 {
		t.Fatalf("counter without expiry = %d", v)
	}
}

func getValue(t *testing.T, s Store, key string) ([]byte, bool) {
	t.Helper()
	b, ok, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return b, ok
}

func setValue(t *testing.T, s Store, key, val string, ttl time.Duration) {
	t.Helper()
	if err := s.Set(t.Context(), key, []byte(val), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func testValues(t *testing.T, h harness) {
	if _, ok := getValue(t, h.s, "v"); ok {
		t.Fatal("absent value found")
	}
	buf := []byte("hello")
	if err := h.s.Set(t.Context(), "v", buf, time.Hour); err != nil {
		t.Fatal(err)
	}
	buf[0] = 'j' // the store keeps its own copy
	if b, ok := getValue(t, h.s, "v"); !ok || string(b) != "hello" {
		t.Fatalf("Get = %q, %v", b, ok)
	}
	setValue(t, h.s, "v", "bye", 0)
	if b, _ := getValue(t, h.s, "v"); string(b) != "bye" {
		t.Fatalf("overwritten value = %q", b)
	}
	setValue(t, h.s, "empty", "", 0)
	if b, ok := getValue(t, h.s, "empty"); !ok || len(b) != 0 {
		t.Fatalf("empty value = %q, %v", b, ok)
	}
	setValue(t, h.s, "w", "x", 0)
	if err := h.s.Delete(t.Context(), "v", "w", "missing"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"v", "w"} {
		if _, ok := getValue(t, h.s, k); ok {
			t.Fatalf("%q survived Delete", k)
		}
	}
	if err := h.s.Delete(t.Context()); err != nil {
		t.Fatalf("Delete(): %v", err)
	}
	bin := []byte{0, 1, 2, 255, '\r', '\n'}
	if err := h.s.Set(t.Context(), "bin", bin, 0); err != nil {
		t.Fatal(err)
	}
	if b, _ := getValue(t, h.s, "bin"); !bytes.Equal(b, bin) {
		t.Fatalf("binary value = %v", b)
	}
}

func testValueTTL(t *testing.T, h harness) {
	const ttl = time.Second
	set := h.now()
	setValue(t, h.s, "short", "a", ttl)
	setValue(t, h.s, "long", "b", time.Hour)
	setValue(t, h.s, "none", "c", 0)
	// Present before its TTL: conclusive when the clock, read after the
	// get, is still within the TTL of the moment before the set.
	if _, ok := getValue(t, h.s, "short"); !ok && h.now().Sub(set) < ttl {
		t.Fatal("value gone before its TTL")
	}
	h.advance(ttl + 50*time.Millisecond)
	if _, ok := getValue(t, h.s, "short"); ok {
		t.Fatal("value outlived its TTL")
	}
	for _, k := range []string{"long", "none"} {
		if _, ok := getValue(t, h.s, k); !ok {
			t.Fatalf("%q gone", k)
		}
	}
}

func testNamespaces(t *testing.T, h harness) {
	setValue(t, h.s, "k", "v", 0)
	consume(t, h.s, "k", 2, 5, time.Time{})
	allow(t, h.s, "k", Limit{Algorithm: GCRA, Rate: 1, Period: time.Minute, Burst: 1}, 1)
	if b, _ := getValue(t, h.s, "k"); string(b) != "v" {
		t.Fatalf("value = %q", b)
	}
	if v := counterOf(t, h.s, "k"); v != 2 {
		t.Fatalf("counter = %d", v)
	}
	// Delete is for values only.
	if err := h.s.Delete(t.Context(), "k"); err != nil {
		t.Fatal(err)
	}
	if v := counterOf(t, h.s, "k"); v != 2 {
		t.Fatalf("counter after Delete = %d", v)
	}
}

func testDeletePrefix(t *testing.T, h harness) {
	g := Limit{Algorithm: GCRA, Rate: 1, Period: time.Minute, Burst: 1}
	w := Limit{Algorithm: SlidingWindow, Rate: 1, Period: time.Minute}
	setValue(t, h.s, "a:1", "x", 0)
	setValue(t, h.s, "a:2", "x", time.Hour)
	consume(t, h.s, "a:3", 1, 5, time.Time{})
	allow(t, h.s, "a:4", g, 1)
	allow(t, h.s, "a:5", w, 1)
	setValue(t, h.s, "ab", "x", 0)
	setValue(t, h.s, "b:a:1", "x", 0)
	consume(t, h.s, "b:1", 1, 5, time.Time{})
	n, err := h.s.DeletePrefix(t.Context(), "a:")
	if err != nil || n != 5 {
		t.Fatalf("DeletePrefix = %d, %v, want 5", n, err)
	}
	for _, k := range []string{"a:1", "a:2"} {
		if _, ok := getValue(t, h.s, k); ok {
			t.Fatalf("%q survived", k)
		}
	}
	if v := counterOf(t, h.s, "a:3"); v != 0 {
		t.Fatalf("counter survived: %d", v)
	}
	if !allow(t, h.s, "a:4", g, 1).Allowed || !allow(t, h.s, "a:5", w, 1).Allowed {
		t.Fatal("rate-limit state survived")
	}
	for _, k := range []string{"ab", "b:a:1"} {
		if _, ok := getValue(t, h.s, k); !ok {
			t.Fatalf("%q deleted", k)
		}
	}
	if v := counterOf(t, h.s, "b:1"); v != 1 {
		t.Fatalf("other counter = %d", v)
	}
	if n, err := h.s.DeletePrefix(t.Context(), "nothing"); err != nil || n != 0 {
		t.Fatalf("DeletePrefix(nothing) = %d, %v", n, err)
	}
}

func testDeletePrefixGlob(t *testing.T, h harness) {
	keep := []string{"p1:a", "pa:b", "p\\x", "p[1]x", "p1]*"}
	for _, k := range keep {
		setValue(t, h.s, k, "x", 0)
	}
	setValue(t, h.s, "p[1]*?\\:a", "x", 0)
	setValue(t, h.s, "p[1]*?\\", "x", 0)
	n, err := h.s.DeletePrefix(t.Context(), "p[1]*?\\")
	if err != nil || n != 2 {
		t.Fatalf("DeletePrefix = %d, %v, want 2", n, err)
	}
	for _, k := range keep {
		if _, ok := getValue(t, h.s, k); !ok {
			t.Fatalf("%q deleted: the prefix was taken as a pattern", k)
		}
	}
}

func testClose(t *testing.T, h harness) {
	if err := h.s.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	l := Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 1}
	_, err1 := h.s.AllowN(ctx, "k", l, 1)
	_, err2 := h.s.Consume(ctx, "k", 1, 1, time.Time{})
	_, _, err3 := h.s.Get(ctx, "k")
	err4 := h.s.Set(ctx, "k", nil, 0)
	for i, err := range []error{err1, err2, err3, err4} {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("call %d after Close: %v, want ErrUnavailable", i, err)
		}
	}
	if err := h.s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// DeleteCounter resets one counter, leaves others (and a longer key
// starting with the same text) alone, and is no error when absent.
func testDeleteCounter(t *testing.T, h harness) {
	exp := h.now().Add(time.Hour)
	consume(t, h.s, "q", 3, 10, exp)
	consume(t, h.s, "q2", 4, 10, exp)
	if err := h.s.DeleteCounter(t.Context(), "q"); err != nil {
		t.Fatal(err)
	}
	if v := counterOf(t, h.s, "q"); v != 0 {
		t.Fatalf("deleted counter = %d", v)
	}
	if v := counterOf(t, h.s, "q2"); v != 4 {
		t.Fatalf("other counter = %d", v)
	}
	if err := h.s.DeleteCounter(t.Context(), "absent"); err != nil {
		t.Fatalf("absent: %v", err)
	}
	if got := consume(t, h.s, "q", 10, 10, exp); !got.Allowed {
		t.Fatalf("after reset the whole allowance is back: %+v", got)
	}
}
