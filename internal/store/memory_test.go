package store

import (
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/goleak"
)

func newMemory(t *testing.T, opts MemoryOptions) *Memory {
	t.Helper()
	m, err := NewMemory(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMemoryOptions(t *testing.T) {
	for _, o := range []MemoryOptions{{FlushInterval: -1}, {MaxValueBytes: -1}} {
		if _, err := NewMemory(o); err == nil {
			t.Errorf("NewMemory(%+v) accepted", o)
		}
	}
	if _, err := NewMemory(MemoryOptions{PersistPath: filepath.Join(t.TempDir(), "missing", "q.db")}); err == nil {
		t.Error("NewMemory with an unwritable path accepted")
	}
}

// TestMemoryCloseStopsGoroutines: the janitor goroutine ends with Close.
func TestMemoryCloseStopsGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, path := range []string{"", filepath.Join(t.TempDir(), "q.db")} {
		m, err := NewMemory(MemoryOptions{PersistPath: path, FlushInterval: time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		consume(t, m, "q", 1, 5, time.Time{})
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMemoryPersistence(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quota.db")
	clk := newFakeClock()
	// A long flush interval: only Close persists.
	m, err := NewMemory(MemoryOptions{PersistPath: path, FlushInterval: time.Hour, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	consume(t, m, "day", 3, 10, clk.Now().Add(24*time.Hour))
	consume(t, m, "minute", 2, 10, clk.Now().Add(time.Minute))
	consume(t, m, "forever", 1, 10, time.Time{})
	consume(t, m, "deleted", 1, 10, time.Time{})
	if err := m.Flush(); err != nil {
		t.Fatal(err)
	}
	// Changes after a flush are persisted by Close.
	consume(t, m, "day", 1, 10, time.Time{})
	if _, err := m.DeletePrefix(t.Context(), "deleted"); err != nil {
		t.Fatal(err)
	}
	allow(t, m, "rate", Limit{Algorithm: GCRA, Rate: 1, Period: time.Hour, Burst: 1}, 1)
	setValue(t, m, "value", "x", 0)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(2 * time.Minute) // "minute" expires while we are down
	m2 := newMemory(t, MemoryOptions{PersistPath: path, Now: clk.Now})
	for k, want := range map[string]int64{"day": 4, "minute": 0, "forever": 1, "deleted": 0} {
		if got := counterOf(t, m2, k); got != want {
			t.Errorf("counter %q after reopen = %d, want %d", k, got, want)
		}
	}
	// The expiry survived too.
	clk.Advance(24 * time.Hour)
	if got := counterOf(t, m2, "day"); got != 0 {
		t.Errorf("day counter after a day = %d", got)
	}
	// Only counters persist.
	if !allow(t, m2, "rate", Limit{Algorithm: GCRA, Rate: 1, Period: time.Hour, Burst: 1}, 1).Allowed {
		t.Error("rate-limit state persisted")
	}
	if _, ok := getValue(t, m2, "value"); ok {
		t.Error("value persisted")
	}
	// Expired records were dropped from the file, not just skipped.
	if n := m2.persistedCount(t); n != 2 {
		t.Errorf("file holds %d counters, want 2 (day, forever)", n)
	}
}

// TestMemoryFlushInterval: the janitor persists without Close (a crash
// after a flush keeps the counts).
func TestMemoryFlushInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "quota.db")
	m := newMemory(t, MemoryOptions{PersistPath: path, FlushInterval: 10 * time.Millisecond})
	consume(t, m, "q", 7, 10, time.Time{})
	deadline := time.Now().Add(5 * time.Second)
	for m.persistedCount(t) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("counter not flushed by the janitor")
		}
		time.Sleep(5 * time.Millisecond)
	}
	m.flushMu.Lock()
	dirty := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		dirty += len(m.shards[i].dirty)
		m.shards[i].mu.Unlock()
	}
	m.flushMu.Unlock()
	if dirty != 0 {
		t.Fatalf("%d counters still dirty after a flush", dirty)
	}
}

// persistedCount counts the counters in the file.
func (m *Memory) persistedCount(t *testing.T) int {
	t.Helper()
	n := 0
	err := m.db.View(func(tx *boltTx) error {
		n = tx.Bucket(counterBucket).Stats().KeyN
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMemorySweep(t *testing.T) {
	clk := newFakeClock()
	m := newMemory(t, MemoryOptions{Now: clk.Now})
	allow(t, m, "g", Limit{Algorithm: GCRA, Rate: 1, Period: time.Second, Burst: 1}, 1)
	allow(t, m, "w", Limit{Algorithm: SlidingWindow, Rate: 1, Period: time.Second}, 1)
	consume(t, m, "q", 1, 1, clk.Now().Add(time.Second))
	consume(t, m, "forever", 1, 1, time.Time{})
	setValue(t, m, "v", "x", time.Second)
	setValue(t, m, "keep", "x", 0)
	m.sweep()
	if got := m.entries(); got != 6 {
		t.Fatalf("%d entries before expiry, want 6", got)
	}
	clk.Advance(time.Second) // GCRA, counter and value expired; the window's count still weighs
	m.sweep()
	if got := m.entries(); got != 3 {
		t.Fatalf("%d entries after 1s, want 3", got)
	}
	clk.Advance(time.Second)
	m.sweep()
	if got := m.entries(); got != 2 {
		t.Fatalf("%d entries after 2s, want 2", got)
	}
}

func (m *Memory) entries() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.rates) + len(sh.counters)
		sh.mu.Unlock()
	}
	m.values.mu.RLock()
	n += len(m.values.m)
	m.values.mu.RUnlock()
	return n
}

func TestMemoryMaxValueBytes(t *testing.T) {
	const max = 10 * (valueOverhead + 100)
	m := newMemory(t, MemoryOptions{MaxValueBytes: max})
	val := make([]byte, 100-2) // key "kN" makes each value 100 bytes + overhead
	for i := range 30 {
		if err := m.Set(t.Context(), "k"+strconv.Itoa(i%10), val, 0); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		if err := m.Set(t.Context(), "x"+strconv.Itoa(i%10), val, 0); err != nil {
			t.Fatal(err)
		}
		if m.values.bytes > max {
			t.Fatalf("%d bytes held, bound %d", m.values.bytes, max)
		}
	}
	if n := len(m.values.m); n != 10 {
		t.Fatalf("%d values held, want 10", n)
	}
	// The accounting matches the content.
	var sum int64
	for k, e := range m.values.m {
		sum += valueSize(k, e.b)
	}
	if sum != m.values.bytes {
		t.Fatalf("accounted %d bytes, held %d", m.values.bytes, sum)
	}
	if _, err := m.DeletePrefix(t.Context(), ""); err != nil || m.values.bytes != 0 {
		t.Fatalf("bytes after deleting everything = %d, %v", m.values.bytes, err)
	}
	if err := m.Set(t.Context(), "big", make([]byte, max), 0); err == nil {
		t.Fatal("value above MaxValueBytes accepted")
	}
}

func TestMemoryAllowNAllocs(t *testing.T) {
	m := newMemory(t, MemoryOptions{})
	ctx := t.Context()
	for _, l := range []Limit{
		{Algorithm: GCRA, Rate: 1000, Period: time.Second, Burst: 100},
		{Algorithm: SlidingWindow, Rate: 1000, Period: time.Second},
	} {
		_, _ = m.AllowN(ctx, "key", l, 1)
		if a := testing.AllocsPerRun(1000, func() { _, _ = m.AllowN(ctx, "key", l, 1) }); a != 0 {
			t.Errorf("algorithm %d: %v allocs per AllowN on an existing key", l.Algorithm, a)
		}
	}
}

// TestMemoryConcurrentLimit: 30 goroutines on one limit, exactly the
// limit admitted.
func TestMemoryConcurrentLimit(t *testing.T) {
	m := newMemory(t, MemoryOptions{})
	for _, l := range []Limit{
		{Algorithm: SlidingWindow, Rate: 100, Period: 10 * time.Second},
		{Algorithm: GCRA, Rate: 100, Period: time.Hour, Burst: 100},
	} {
		h := harness{s: m, now: time.Now, sleepUntil: realSleepUntil}
		period := int64(l.Period)
		if left := period - time.Now().UnixNano()%period; l.Algorithm == SlidingWindow && left < int64(3*time.Second) {
			waitWindowStart(h, l.Period)
		}
		win := time.Now().UnixNano() / period
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range 30 {
			wg.Go(func() {
				for range 10 {
					if r, err := m.AllowN(t.Context(), "shared", l, 1); err != nil {
						t.Error(err)
					} else if r.Allowed {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if l.Algorithm == SlidingWindow && time.Now().UnixNano()/period != win {
			t.Fatal("the run crossed a window boundary")
		}
		t.Logf("algorithm %d: 30 goroutines × 10 requests: %d allowed", l.Algorithm, allowed.Load())
		if allowed.Load() != 100 {
			t.Errorf("algorithm %d: %d allowed, want 100", l.Algorithm, allowed.Load())
		}
	}
}

// TestMemoryConcurrentConsume: concurrent Consume never exceeds max.
func TestMemoryConcurrentConsume(t *testing.T) {
	m := newMemory(t, MemoryOptions{PersistPath: filepath.Join(t.TempDir(), "q.db"), FlushInterval: time.Millisecond})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 30 {
		wg.Go(func() {
			for range 20 {
				if r, err := m.Consume(t.Context(), "q", 1, 250, time.Time{}); err != nil {
					t.Error(err)
				} else if r.Allowed {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if allowed.Load() != 250 || counterOf(t, m, "q") != 250 {
		t.Fatalf("%d allowed, counter %d, want 250", allowed.Load(), counterOf(t, m, "q"))
	}
}

type boltTx = bolt.Tx

// A counter deleted on Memory stays deleted across a restart.
func TestMemoryDeleteCounterPersists(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	m, err := NewMemory(MemoryOptions{PersistPath: path})
	if err != nil {
		t.Fatal(err)
	}
	m.Consume(t.Context(), "q", 3, 10, time.Now().Add(time.Hour))
	m.Flush()
	m.DeleteCounter(t.Context(), "q")
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m, err = NewMemory(MemoryOptions{PersistPath: path})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if v, _ := m.Counter(t.Context(), "q"); v != 0 {
		t.Fatalf("deleted counter came back as %d", v)
	}
}
