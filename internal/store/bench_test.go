package store

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/redistest"
)

// benchLimits never refuse during a benchmark, so the measured path is
// the common one (allowed, state updated).
var benchLimits = []struct {
	name string
	l    Limit
}{
	{"GCRA", Limit{Algorithm: GCRA, Rate: 1e6, Period: time.Second, Burst: 1e6}},
	{"Sliding", Limit{Algorithm: SlidingWindow, Rate: 1e12, Period: time.Second}},
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "route:consumer-" + strconv.Itoa(i)
	}
	return keys
}

func benchAllowN(b *testing.B, s Store, l Limit, keys []string) {
	ctx := context.Background()
	for _, k := range keys {
		if _, err := s.AllowN(ctx, k, l, 1); err != nil {
			b.Fatal(err)
		}
	}
	var next atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		// Each goroutine walks the keys from its own offset.
		i := int(next.Add(7919))
		for pb.Next() {
			if _, err := s.AllowN(ctx, keys[i%len(keys)], l, 1); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

func BenchmarkMemoryAllowN(b *testing.B) {
	m, err := NewMemory(MemoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, bl := range benchLimits {
		b.Run(bl.name+"/OneKey", func(b *testing.B) { benchAllowN(b, m, bl.l, benchKeys(1)) })
		b.Run(bl.name+"/10kKeys", func(b *testing.B) { benchAllowN(b, m, bl.l, benchKeys(10000)) })
	}
}

func BenchmarkMemoryConsume(b *testing.B) {
	m, err := NewMemory(MemoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := m.Consume(ctx, "quota", 1, 1<<53, time.Time{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkRedisAllowN(b *testing.B) {
	srv := redistest.Start(b)
	s := NewRedis(newClient(b, srv.Addr), "")
	for _, bl := range benchLimits {
		b.Run(bl.name, func(b *testing.B) { benchAllowN(b, s, bl.l, benchKeys(1000)) })
	}
}

// BenchmarkRedisAllowNParallel compares plain and pipelined decisions
// under the gateway's load shape: run with -cpu 2, SetParallelism(32)
// makes 64 concurrent callers.
func BenchmarkRedisAllowNParallel(b *testing.B) {
	srv := redistest.Start(b)
	for _, m := range []struct {
		name string
		opt  RedisOption
	}{
		{"Plain", WithoutPipelining()},
		{"Pipelined", WithPipelining(0, 0)},
	} {
		s := NewRedis(newClient(b, srv.Addr), "", m.opt)
		for _, bl := range benchLimits {
			b.Run(m.name+"/"+bl.name, func(b *testing.B) {
				b.SetParallelism(32)
				benchAllowN(b, s, bl.l, benchKeys(1000))
			})
		}
		// One caller at a time: what pipelining costs a lone request
		// (a handoff to the flusher and back).
		b.Run(m.name+"/Serial", func(b *testing.B) {
			l := benchLimits[0].l
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.AllowN(ctx, "serial", l, 1); err != nil {
					b.Fatal(err)
				}
			}
		})
		_ = s.Close()
	}
}
