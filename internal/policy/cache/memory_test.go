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
	m := NewMemoryBackend(1000).(*memoryBackend)
	m.now = clk.Now
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
	if err := m.Delete(ctx, "b", "c", "none"); err != nil || len(m.items) != 0 || m.used != 0 {
		t.Fatalf("delete left %d items, %d bytes", len(m.items), m.used)
	}
}

func TestMemoryBackendBound(t *testing.T) {
	ctx := context.Background()
	item := int64(len("k0") + 100 + memItemOverhead)
	m := NewMemoryBackend(3 * item).(*memoryBackend)
	val := make([]byte, 100)
	for i := range 3 {
		m.Set(ctx, fmt.Sprint("k", i), val, 0)
	}
	m.Get(ctx, "k0") // k1 is now the least recently used
	m.Set(ctx, "k3", val, 0)
	if _, ok, _ := m.Get(ctx, "k1"); ok {
		t.Fatal("LRU item not evicted")
	}
	for _, k := range []string{"k0", "k2", "k3"} {
		if _, ok, _ := m.Get(ctx, k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	if m.used > m.max {
		t.Fatalf("used %d > max %d", m.used, m.max)
	}
	// Replacing a key does not double count; too-large values are declined.
	m.Set(ctx, "k3", val, 0)
	m.Set(ctx, "huge", make([]byte, 4*item), 0)
	if _, ok, _ := m.Get(ctx, "huge"); ok || m.used != 3*item {
		t.Fatalf("used %d", m.used)
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
}
