package basicauth

import (
	"crypto/sha256"
	"time"

	"github.com/gatehouse/gatehouse/internal/policy/credential"
)

// verifiedCache remembers recent successful verifications so that bcrypt,
// deliberately slow (~50–100 ms at the usual costs), is paid once per
// user and password per TTL instead of on every request of a busy client.
//
// Keys are SHA-256 over a random per-instance salt, the user and the
// password: the cache never holds a password, and its keys cannot be
// matched against a precomputed table or across gateway instances. Only
// successes are cached, so a wrong password always costs a bcrypt
// comparison. The entries are a bounded credential.Cache.
type verifiedCache struct {
	ttl     time.Duration
	salt    [32]byte
	entries *credential.Cache[[32]byte, struct{}]
}

func newVerifiedCache(ttl time.Duration, max int, salt [32]byte) *verifiedCache {
	return &verifiedCache{ttl: ttl, salt: salt, entries: credential.NewCache[[32]byte, struct{}](max)}
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
	_, ok := c.entries.Get(k, now)
	return ok
}

// add records a successful verification of k.
func (c *verifiedCache) add(k [32]byte, now time.Time) {
	c.entries.Put(k, struct{}{}, now.Add(c.ttl), now)
}

func (c *verifiedCache) len() int { return c.entries.Len() }
