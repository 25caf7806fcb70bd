package store

import (
	"testing"
	"time"
)

// FuzzMemoryAllowN feeds arbitrary limits, costs and clock steps to
// Memory: it must never panic, and every result must be consistent.
func FuzzMemoryAllowN(f *testing.F) {
	f.Add(uint8(0), int64(10), int64(time.Second), int64(3), int64(1), int64(time.Millisecond))
	f.Add(uint8(1), int64(5), int64(time.Minute), int64(0), int64(2), int64(time.Second))
	f.Add(uint8(1), int64(1), int64(1), int64(1), int64(1<<62), int64(-1))
	f.Add(uint8(0), int64(1<<40), int64(1<<62), int64(1<<40), int64(1<<40), int64(1<<60))
	f.Fuzz(func(t *testing.T, algo uint8, rate, period, burst, n, step int64) {
		clk := newFakeClock()
		m, err := NewMemory(MemoryOptions{Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		l := Limit{Algorithm: Algorithm(algo % 3), Rate: rate, Period: time.Duration(period), Burst: burst}
		for range 4 {
			r, err := m.AllowN(t.Context(), "k", l, n)
			if err != nil {
				if checkLimit(l, n) == nil {
					t.Fatalf("%+v n=%d: %v for a valid limit", l, n, err)
				}
				return
			}
			if r.Remaining < 0 || r.Remaining > r.Limit || r.RetryAfter < 0 || r.ResetAfter < 0 {
				t.Fatalf("%+v n=%d: inconsistent %+v", l, n, r)
			}
			if r.Allowed != (r.RetryAfter == 0) {
				t.Fatalf("%+v n=%d: Allowed %v with RetryAfter %v", l, n, r.Allowed, r.RetryAfter)
			}
			if step > 0 {
				clk.Advance(time.Duration(step % int64(24*time.Hour)))
			}
		}
	})
}
