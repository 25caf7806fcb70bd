package cache

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/maypok86/otter/v2"
)

// memItemOverhead approximates the bookkeeping bytes of one item (map
// slot, policy nodes, expiry) so that many tiny entries still count.
const memItemOverhead = 96

// noExpiry stands for "no TTL": otter wants a duration for every entry.
const noExpiry = 100 * 365 * 24 * time.Hour

// memoryBackend is the in-process Backend: an otter cache (S3-FIFO
// eviction, per-entry expiry) bounded by the bytes of keys and values.
type memoryBackend struct {
	c   *otter.Cache[string, memItem]
	max int64
}

type memItem struct {
	val []byte
	ttl time.Duration
}

func weight(key string, it memItem) uint32 {
	return uint32(min(int64(len(key)+len(it.val))+memItemOverhead, math.MaxUint32))
}

// NewMemoryBackend returns an in-process Backend holding at most maxBytes
// of keys and values (plus a small per-item overhead), evicting the
// entries least likely to be used again first. Values too large for the
// bound are not stored. Get returns the stored slice itself: callers must
// not modify it.
func NewMemoryBackend(maxBytes int64) Backend {
	return newMemoryBackend(maxBytes, nil)
}

// newMemoryBackend takes a clock for tests (nil: the real one).
func newMemoryBackend(maxBytes int64, clock otter.Clock) *memoryBackend {
	c := otter.Must(&otter.Options[string, memItem]{
		MaximumWeight: uint64(maxBytes),
		Weigher:       weight,
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, memItem]) time.Duration {
			return e.Value.ttl
		}),
		Clock: clock,
	})
	return &memoryBackend{c: c, max: maxBytes}
}

func (m *memoryBackend) Get(_ context.Context, key string) ([]byte, bool, error) {
	it, ok := m.c.GetIfPresent(key)
	return it.val, ok, nil
}

// Set stores a copy of val. ttl ≤ 0 means no expiry.
func (m *memoryBackend) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	if ttl <= 0 {
		ttl = noExpiry
	}
	it := memItem{val: append([]byte(nil), val...), ttl: ttl}
	if int64(weight(key, it)) > m.max {
		m.c.Invalidate(key) // an older, smaller version must not linger
		return nil
	}
	m.c.Set(key, it)
	return nil
}

func (m *memoryBackend) Delete(_ context.Context, keys ...string) error {
	for _, k := range keys {
		m.c.Invalidate(k)
	}
	return nil
}

// DeletePrefix scans every key: purges are rare admin actions.
func (m *memoryBackend) DeletePrefix(_ context.Context, prefix string) (int, error) {
	var doomed []string
	for k := range m.c.Keys() {
		if strings.HasPrefix(k, prefix) {
			doomed = append(doomed, k)
		}
	}
	n := 0
	for _, k := range doomed {
		if _, ok := m.c.Invalidate(k); ok {
			n++
		}
	}
	return n, nil
}
