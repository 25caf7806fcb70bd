package jwtauth

import (
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse/gatehouse/internal/policy/credential"
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
	// keys is the JWKS key set the token was verified with; a refresh
	// replaces the set, which invalidates the entry. nil without JWKS.
	keys *keySet
}

// verifiedCache maps a token string to its verified claims.
type verifiedCache struct {
	entries *credential.Cache[string, verifiedEntry]
}

func newVerifiedCache() verifiedCache {
	return verifiedCache{credential.NewCache[string, verifiedEntry](verifiedMax)}
}

// get returns the claims cached for tok when they were verified with
// keys, the JWKS key set current now.
func (c verifiedCache) get(tok string, keys *keySet, now time.Time) (jwt.MapClaims, bool) {
	e, ok := c.entries.Get(tok, now)
	if !ok || e.keys != keys {
		return nil, false
	}
	return e.claims, true
}

// put remembers claims until the token expires (exp plus leeway) or the
// TTL passes, whichever is first. Tokens without exp are not cached.
func (c verifiedCache) put(tok string, claims jwt.MapClaims, keys *keySet, now time.Time, leeway time.Duration) {
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return
	}
	until := now.Add(verifiedTTL)
	if e := exp.Add(leeway); e.Before(until) {
		until = e
	}
	c.entries.Put(tok, verifiedEntry{claims: claims, keys: keys}, until, now)
}
