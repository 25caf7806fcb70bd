package basicauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers recent successful verifications so that bcrypt,
// deliberately slow (~50–100 ms at the usual costs), is paid once per
// user and password per TTL instead of on every request of a busy client.
//
// Keys are SHA-256 over a random per-instance salt, the user and the
// password: the cache never holds a password, and its keys cannot be
// matched against a precomputed table or across gateway instances. Only
// successes are cached, so a wrong password always costs a bcrypt
// comparison. The map is bounded; when full, expired entries are swept
// and, if none were, an arbitrary entry is dropped (Go's map order),
// which is enough for a cache whose misses are only slow, never wrong.
type verifiedCache struct {
	ttl  time.Duration
	max  int
	salt [32]byte

	mu      sync.Mutex
	entries map[[32]byte]time.Time // key → expiry
}

func newVerifiedCache(ttl time.Duration, max int, salt [32]byte) *verifiedCache {
	return &verifiedCache{ttl: ttl, max: max, salt: salt, entries: make(map[[32]byte]time.Time)}
}

// key hashes salt, user and password. The user is length-prefixed so
// ("ab","c") and ("a","bc") differ.
func (c *verifiedCache) key(user, password string) [32]byte {
	h := sha256.New()
	h.Write(c.salt[:])
	n := len(user)
	h.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	h.Write([]byte(user))
	h.Write([]byte(password))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// hit reports whether k was verified less than ttl ago.
func (c *verifiedCache) hit(k [32]byte, now time.Time) bool {
	c.mu.Lock()
	exp, ok := c.entries[k]
	if ok && !now.Before(exp) {
		delete(c.entries, k)
		ok = false
	}
	c.mu.Unlock()
	return ok
}

// add records a successful verification of k.
func (c *verifiedCache) add(k [32]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[k]; !ok && len(c.entries) >= c.max {
		for old, exp := range c.entries {
			if !now.Before(exp) {
				delete(c.entries, old)
			}
		}
		for old := range c.entries {
			if len(c.entries) < c.max {
				break
			}
			delete(c.entries, old)
		}
	}
	c.entries[k] = now.Add(c.ttl)
}

func (c *verifiedCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
