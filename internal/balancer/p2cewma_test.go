package balancer

import (
	"testing"
	"time"
)

// fixedClock points b's clock at *now.
func fixedClock(b *P2CEWMA, now *uint32) { b.now = func() uint32 { return *now } }

// Simulate one request per millisecond into two targets, A answering in
// 10ms and B in 100ms, feeding completions back through End and Observe as
// the proxy does. B must get clearly less traffic (random would give 50%),
// but not none: it is probed when A is busy or B's estimate has decayed.
func TestP2CEWMAAvoidsSlowTarget(t *testing.T) {
	ts := targets(1, 1)
	b := NewP2CEWMA(ts)
	now := uint32(1)
	fixedClock(b, &now)
	latency := map[*Target]time.Duration{ts[0]: 10 * time.Millisecond, ts[1]: 100 * time.Millisecond}
	type req struct {
		done uint32
		t    *Target
	}
	var pending []req
	counts := map[*Target]int{}
	const n = 20000
	for range n {
		now += ticks(time.Millisecond)
		kept := pending[:0]
		for _, p := range pending {
			if p.done > now {
				kept = append(kept, p)
				continue
			}
			p.t.End()
			p.t.observeAt(now, latency[p.t], false)
		}
		pending = kept
		x := b.Pick(nil, nil)
		x.Begin()
		counts[x]++
		pending = append(pending, req{now + ticks(latency[x]), x})
	}
	share := float64(counts[ts[1]]) / n
	t.Logf("slow target share %.2f%%", 100*share)
	if share >= 0.20 || counts[ts[1]] == 0 {
		t.Fatalf("slow target got %.1f%% of picks, want (0, 20%%)", 100*share)
	}
}

func TestP2CEWMACost(t *testing.T) {
	ts := targets(1, 1)
	b := NewP2CEWMA(ts)
	now := uint32(1000)
	fixedClock(b, &now)
	ts[0].observeAt(now, 10*time.Millisecond, false)
	ts[1].observeAt(now, 10*time.Millisecond, false)
	ts[0].inflight.Store(3)
	if got := sequence(b, ts, 8); got != "bbbbbbbb" {
		t.Fatalf("equal latency, a busier: got %s", got)
	}
	ts[1].observeAt(now, 50*time.Millisecond, false) // 50×1 > 10×4
	if got := sequence(b, ts, 8); got != "aaaaaaaa" {
		t.Fatalf("b 5× slower: got %s", got)
	}
}

// Cost divides by weight: a target with three times the weight is worth
// more requests in flight.
func TestP2CEWMAWeights(t *testing.T) {
	ts := targets(3, 1)
	b := NewP2CEWMA(ts)
	now := uint32(1000)
	fixedClock(b, &now)
	ts[0].observeAt(now, 10*time.Millisecond, false)
	ts[1].observeAt(now, 10*time.Millisecond, false)
	ts[0].inflight.Store(1) // cost 10×2/3 < 10×1/1
	if got := sequence(b, ts, 8); got != "aaaaaaaa" {
		t.Fatalf("got %s, want the heavier target", got)
	}
}

// A target with no estimate is tried at once, but only one request at a
// time until it has answered.
func TestP2CEWMAProbesNewTarget(t *testing.T) {
	ts := targets(1, 1)
	b := NewP2CEWMA(ts)
	now := uint32(1000)
	fixedClock(b, &now)
	ts[0].observeAt(now, time.Millisecond, false)
	if got := b.Pick(nil, nil); got != ts[1] {
		t.Fatal("new target not probed")
	}
	ts[1].Begin()
	ts[0].inflight.Store(50)
	if got := b.Pick(nil, nil); got != ts[0] {
		t.Fatal("new target flooded while its probe is in flight")
	}
	ts[1].End()
	ts[1].observeAt(now, 2*time.Millisecond, false)
	if got := b.Pick(nil, nil); got != ts[1] {
		t.Fatal("probed target not used once it answered")
	}
}

// An estimate nobody refreshes decays, so a target avoided because it was
// slow is tried again and can show it recovered.
func TestP2CEWMARetriesStaleSlowTarget(t *testing.T) {
	ts := targets(1, 1)
	b := NewP2CEWMA(ts)
	now := uint32(1)
	fixedClock(b, &now)
	ts[1].observeAt(now, 100*time.Millisecond, false)
	now += ticks(30 * time.Second) // e^-3 × 100ms ≈ 5ms
	ts[0].observeAt(now, 10*time.Millisecond, false)
	if got := b.Pick(nil, nil); got != ts[1] {
		t.Fatal("stale slow estimate never decayed")
	}
}

func TestP2CEWMAUnavailable(t *testing.T) {
	ts := targets(1, 1, 1, 1)
	checkUnavailable(t, NewP2CEWMA(ts), ts)
	pair := targets(1, 1)
	checkUnavailable(t, NewP2CEWMA(pair), pair)
	single := targets(1)
	b := NewP2CEWMA(single)
	if b.Pick(nil, nil) != single[0] || b.Pick(nil, single[0]) != nil || NewP2CEWMA(nil).Pick(nil, nil) != nil {
		t.Fatal("one- or zero-target pool")
	}
	// Mostly down: draws miss and the scan picks the cheapest survivor.
	many := targets(1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
	for _, x := range many[:8] {
		x.SetDown(true)
	}
	many[8].inflight.Store(4)
	if got := sequence(NewP2CEWMA(many), many, 20); got != "jjjjjjjjjjjjjjjjjjjj" {
		t.Fatalf("got %s, want only the idle survivor", got)
	}
}

// Idle pool, no estimates: all costs tie and the random first candidate
// wins, so traffic spreads evenly.
func TestP2CEWMATiesSpread(t *testing.T) {
	ts := targets(1, 1, 1, 1)
	checkShares(t, pickCounts(NewP2CEWMA(ts), ts, nil, 10000), []float64{1, 1, 1, 1}, 10000)
	ts[2].SetDown(true)
	checkShares(t, pickCounts(NewP2CEWMA(ts), ts, nil, 10000), []float64{1, 1, 0, 1}, 10000)
}
