package cache

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestMemoryBackend(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Unix(1000, 0)}
	m := newMemoryBackend(1000, clk)
	m.Set(ctx, "a", []byte("1"), time.Second)
	m.Set(ctx, "b", []byte("2"), 0)
	if v, ok, _ := m.Get(ctx, "a"); !ok || string(v) != "1" {
		t.Fatal("a missing")
	}
	clk.Add(time.Second)
	if _, ok, _ := m.Get(ctx, "a"); ok {
		t.Fatal("a outlived its ttl")
	}
	if _, ok, _ := m.Get(ctx, "b"); !ok {
		t.Fatal("b (no ttl) expired")
	}
	// Set copies the value.
	v := []byte("xy")
	m.Set(ctx, "c", v, 0)
	v[0] = 'z'
	if got, _, _ := m.Get(ctx, "c"); string(got) != "xy" {
		t.Fatal("value aliased")
	}
	m.Delete(ctx, "b", "c", "none")
	for _, k := range []string{"b", "c"} {
		if _, ok, _ := m.Get(ctx, k); ok {
			t.Fatalf("%s not deleted", k)
		}
	}
}

func TestMemoryBackendBound(t *testing.T) {
	ctx := context.Background()
	const max = 64 << 10
	m := newMemoryBackend(max, nil)
	val := make([]byte, 1000)
	for i := range 1000 { // 1 MB offered to a 64 KiB cache
		m.Set(ctx, fmt.Sprint("k", i), val, 0)
	}
	m.c.CleanUp()
	if w := m.c.WeightedSize(); w > max {
		t.Fatalf("weighted size %d > bound %d", w, max)
	}
	if n := m.c.EstimatedSize(); n == 0 || n > max/1000 {
		t.Fatalf("%d entries kept", n)
	}
	// A value too large for the bound is declined and drops an older one.
	m.Set(ctx, "huge", []byte("small"), 0)
	m.Set(ctx, "huge", make([]byte, 2*max), 0)
	if _, ok, _ := m.Get(ctx, "huge"); ok {
		t.Fatal("oversized value stored or an old version kept")
	}
}

func TestMemoryDeletePrefix(t *testing.T) {
	ctx := context.Background()
	m := NewMemoryBackend(1 << 20)
	for _, k := range []string{"ns:/a", "ns:/a/b", "ns:/b", "other:/a"} {
		m.Set(ctx, k, []byte("v"), 0)
	}
	n, err := m.DeletePrefix(ctx, "ns:/a")
	if err != nil || n != 2 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	if _, ok, _ := m.Get(ctx, "ns:/b"); !ok {
		t.Fatal("ns:/b deleted")
	}
	if _, ok, _ := m.Get(ctx, "other:/a"); !ok {
		t.Fatal("other:/a deleted")
	}
}
