package credential

import (
	"sync"
	"time"
)

// Cache maps keys to values until their expiry, holding at most a fixed
// number of entries. It remembers verification results (a verified
// token, an introspection answer, a bcrypt match), so a miss only costs
// a verification again, never a wrong answer: when full, expired
// entries are swept and, if that freed nothing, an arbitrary eighth is
// dropped (Go's map order), so a flood of distinct credentials costs an
// O(n) sweep only once per n/8 insertions. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	max     int
	mu      sync.Mutex
	entries map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	v       V
	expires time.Time
}

// NewCache returns a Cache holding at most max entries (at least one).
func NewCache[K comparable, V any](max int) *Cache[K, V] {
	return &Cache[K, V]{max: max, entries: make(map[K]cacheEntry[V])}
}

// Get returns the value for k if it has not expired at now.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if ok && !now.Before(e.expires) {
		delete(c.entries, k)
		ok = false
	}
	if !ok {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put stores v for k until expires, evicting when the cache is full.
func (c *Cache[K, V]) Put(k K, v V, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for old, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, old)
			}
		}
		if len(c.entries) >= c.max {
			drop := max(1, c.max/8)
			for old := range c.entries {
				if drop == 0 {
					break
				}
				delete(c.entries, old)
				drop--
			}
		}
	}
	c.entries[k] = cacheEntry[V]{v: v, expires: expires}
}

// Len returns the number of entries, expired ones included.
func (c *Cache[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// Clear removes every entry.
func (c *Cache[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}
