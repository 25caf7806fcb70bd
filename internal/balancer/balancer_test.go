package balancer

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func targets(weights ...int) []*Target {
	ts := make([]*Target, len(weights))
	for i, w := range weights {
		ts[i] = NewTarget(&url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", 9000+i)}, w)
	}
	return ts
}

func sequence(b Balancer, ts []*Target, n int) string {
	var sb strings.Builder
	for i := 0; i < n; i++ {
		t := b.Pick(nil, nil)
		if t == nil {
			sb.WriteByte('-')
			continue
		}
		for j := range ts {
			if ts[j] == t {
				sb.WriteByte(byte('a' + j))
			}
		}
	}
	return sb.String()
}

func TestRoundRobin(t *testing.T) {
	ts := targets(1, 5, 1)
	b := NewRoundRobin(ts)
	if got := sequence(b, ts, 6); got != "abcabc" {
		t.Fatalf("got %s", got)
	}
	ts[1].SetDown(true)
	if got := sequence(b, ts, 6); got != "acacac" && got != "cacaca" {
		t.Fatalf("down target picked: %s", got)
	}
	ts[0].SetDown(true)
	ts[2].SetDraining(true)
	if got := b.Pick(nil, nil); got != nil {
		t.Fatalf("picked %v with none available", got.Addr)
	}
}

func TestRoundRobinSkip(t *testing.T) {
	ts := targets(1, 1)
	b := NewRoundRobin(ts)
	for i := 0; i < 10; i++ {
		if got := b.Pick(nil, ts[0]); got != ts[1] {
			t.Fatalf("pick %d: skip ignored", i)
		}
	}
	if got := NewRoundRobin(ts[:1]).Pick(nil, ts[0]); got != nil {
		t.Fatal("the only target was skipped but still returned")
	}
}

func TestWeightedRoundRobinSmooth(t *testing.T) {
	ts := targets(5, 1, 1)
	b := NewWeightedRoundRobin(ts)
	// nginx's documented sequence for weights 5,1,1.
	if got := sequence(b, ts, 14); got != "aabacaaaabacaa" {
		t.Fatalf("got %s", got)
	}
}

func TestWeightedRoundRobinShares(t *testing.T) {
	ts := targets(3, 2, 0, 1)
	b := NewWeightedRoundRobin(ts)
	counts := map[byte]int{}
	for _, c := range []byte(sequence(b, ts, 600)) {
		counts[c]++
	}
	if counts['a'] != 300 || counts['b'] != 200 || counts['c'] != 0 || counts['d'] != 100 {
		t.Fatalf("shares %v", counts)
	}
	ts[0].SetDown(true)
	counts = map[byte]int{}
	for _, c := range []byte(sequence(b, ts, 300)) {
		counts[c]++
	}
	if counts['a'] != 0 || counts['b'] != 200 || counts['d'] != 100 {
		t.Fatalf("shares with a down %v", counts)
	}
}

func TestPoolUpdateKeepsState(t *testing.T) {
	p := NewPool("users")
	first := targets(1, 1)
	if _, err := p.Update("round_robin", first); err != nil {
		t.Fatal(err)
	}
	first[0].Begin()
	first[1].SetDown(true)
	next := targets(1, 1, 1)[1:] // 127.0.0.1:9001 (kept) and :9002 (new)
	removed, err := p.Update("weighted_round_robin", next)
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != first[0] || !first[0].Draining() || first[0].InFlight() != 1 {
		t.Fatalf("removed %v: want the first target, draining, with its in-flight request", removed)
	}
	if p.Targets()[0] != first[1] || p.Targets()[0].Available() {
		t.Fatal("kept target lost its identity or health state")
	}
	if p.Algorithm() != "weighted_round_robin" {
		t.Fatal(p.Algorithm())
	}
	if _, err := p.Update("nope", next); err == nil {
		t.Fatal("unknown algorithm accepted")
	}
}

func BenchmarkRoundRobin(b *testing.B) {
	bal := NewRoundRobin(targets(1, 1, 1, 1))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bal.Pick(nil, nil)
		}
	})
}

func BenchmarkWeightedRoundRobin(b *testing.B) {
	bal := NewWeightedRoundRobin(targets(5, 1, 1, 3))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bal.Pick(nil, nil)
		}
	})
}
