package introspect

import (
	"sync"
	"time"
)

// cache holds introspection results by SHA-256 of the token, so tokens
// themselves are never kept. It is bounded: when full, expired entries
// are swept and, if that freed nothing, an arbitrary eighth of the
// entries is dropped (Go's map order), so a flood of distinct tokens
// costs an O(n) sweep only once per n/8 insertions.
type cache struct {
	max     int
	mu      sync.Mutex
	entries map[[32]byte]cacheEntry
}

type cacheEntry struct {
	res     *result
	expires time.Time
}

func newCache(max int) *cache {
	return &cache{max: max, entries: make(map[[32]byte]cacheEntry)}
}

// get returns the unexpired result for key, or nil.
func (c *cache) get(key [32]byte, now time.Time) *result {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	if !now.Before(e.expires) {
		delete(c.entries, key)
		return nil
	}
	return e.res
}

// put stores res for key until expires.
func (c *cache) put(key [32]byte, res *result, expires time.Time, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		if len(c.entries) >= c.max {
			drop := max(1, c.max/8)
			for k := range c.entries {
				if drop == 0 {
					break
				}
				delete(c.entries, k)
				drop--
			}
		}
	}
	c.entries[key] = cacheEntry{res: res, expires: expires}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
