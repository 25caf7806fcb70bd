package jwtauth

import (
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A verified-token cache, as Envoy's jwt_authn keeps: clients send the
// same token on every request until it expires, and an RS256 or ES256
// signature check costs tens of microseconds, far more than the rest of
// the request path. A hit needs the exact token string, so nothing about
// the token can differ from what was verified.
const (
	// verifiedTTL bounds how long a verification is trusted without
	// checking again; a key withdrawn from the JWKS stops verifying cached
	// tokens at the next refresh anyway (see verifiedEntry.keys).
	verifiedTTL = 60 * time.Second
	// verifiedMax bounds the cache (about 1 KiB per entry).
	verifiedMax = 10_000
)

type verifiedEntry struct {
	claims jwt.MapClaims
	until  time.Time
	// keys is the JWKS key set the token was verified with; a refresh
	// replaces the set, which invalidates the entry. nil without JWKS.
	keys *keySet
}

type verifiedCache struct {
	mu sync.Mutex
	m  map[string]verifiedEntry
}

func (c *verifiedCache) get(tok string, keys *keySet, now time.Time) (jwt.MapClaims, bool) {
	c.mu.Lock()
	e, ok := c.m[tok]
	c.mu.Unlock()
	if !ok || e.keys != keys || !now.Before(e.until) {
		return nil, false
	}
	return e.claims, true
}

// put remembers claims until the token expires (exp plus leeway) or the
// TTL passes, whichever is first.
func (c *verifiedCache) put(tok string, claims jwt.MapClaims, keys *keySet, now time.Time, leeway time.Duration) {
	until := now.Add(verifiedTTL)
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return // only tokens that expire are cached
	}
	if e := exp.Add(leeway); e.Before(until) {
		until = e
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]verifiedEntry)
	}
	if len(c.m) >= verifiedMax {
		// Evict expired entries, and if none, an arbitrary tenth: cheap,
		// and a flood of distinct valid tokens only costs re-verification.
		n := 0
		for k, e := range c.m {
			if !now.Before(e.until) || n < verifiedMax/10 {
				delete(c.m, k)
				n++
			}
		}
	}
	c.m[tok] = verifiedEntry{claims: claims, until: until, keys: keys}
}
