package cache

import (
	"context"
	"strings"
	"sync"
	"time"
)

// memItemOverhead approximates the bookkeeping bytes of one item (map
// slot, list links, expiry) so that many tiny entries still count.
const memItemOverhead = 96

// memoryBackend is a byte-bounded LRU map with per-item expiry. Expired
// items are dropped when read, or evicted by size pressure like any
// other; no goroutine sweeps them, so the bound is the only guarantee.
type memoryBackend struct {
	mu         sync.Mutex
	max, used  int64
	items      map[string]*memItem
	head, tail *memItem // head is the most recently used
	now        func() time.Time
}

type memItem struct {
	key        string
	val        []byte
	expires    int64 // unix ns; 0 = never
	prev, next *memItem
}

func (it *memItem) size() int64 { return int64(len(it.key)+len(it.val)) + memItemOverhead }

// NewMemoryBackend returns an in-process Backend holding at most maxBytes
// of keys and values (plus a small per-item overhead), evicting the least
// recently used entries first. Values too large for the bound are not
// stored. Get returns the stored slice itself: callers must not modify it.
func NewMemoryBackend(maxBytes int64) Backend {
	return &memoryBackend{max: maxBytes, items: make(map[string]*memItem), now: time.Now}
}

func (m *memoryBackend) Get(_ context.Context, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[key]
	if it == nil {
		return nil, false, nil
	}
	if it.expires != 0 && m.now().UnixNano() >= it.expires {
		m.remove(it)
		return nil, false, nil
	}
	m.moveToFront(it)
	return it.val, true, nil
}

// Set stores a copy of val. ttl ≤ 0 means no expiry.
func (m *memoryBackend) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	it := &memItem{key: key, val: append([]byte(nil), val...)}
	if ttl > 0 {
		it.expires = m.now().Add(ttl).UnixNano()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old := m.items[key]; old != nil {
		m.remove(old)
	}
	if it.size() > m.max {
		return nil // a cache may always decline to store
	}
	m.items[key] = it
	m.pushFront(it)
	m.used += it.size()
	for m.used > m.max && m.tail != nil {
		m.remove(m.tail)
	}
	return nil
}

func (m *memoryBackend) Delete(_ context.Context, keys ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if it := m.items[k]; it != nil {
			m.remove(it)
		}
	}
	return nil
}

// DeletePrefix scans every item: purges are rare administrative actions.
func (m *memoryBackend) DeletePrefix(_ context.Context, prefix string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, it := range m.items {
		if strings.HasPrefix(k, prefix) {
			m.remove(it)
			n++
		}
	}
	return n, nil
}

func (m *memoryBackend) remove(it *memItem) {
	delete(m.items, it.key)
	m.used -= it.size()
	if it.prev != nil {
		it.prev.next = it.next
	} else {
		m.head = it.next
	}
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		m.tail = it.prev
	}
	it.prev, it.next = nil, nil
}

func (m *memoryBackend) pushFront(it *memItem) {
	it.prev, it.next = nil, m.head
	if m.head != nil {
		m.head.prev = it
	}
	m.head = it
	if m.tail == nil {
		m.tail = it
	}
}

func (m *memoryBackend) moveToFront(it *memItem) {
	if m.head == it {
		return
	}
	// Unlink without touching the map or the byte count.
	it.prev.next = it.next
	if it.next != nil {
		it.next.prev = it.prev
	} else {
		m.tail = it.prev
	}
	m.pushFront(it)
}
