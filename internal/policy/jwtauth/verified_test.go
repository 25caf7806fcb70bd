package jwtauth

import (
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerifiedCache(t *testing.T) {
	c := newVerifiedCache()
	now := time.Unix(1_000_000, 0)
	ks := &keySet{}
	claims := jwt.MapClaims{"exp": float64(now.Add(10 * time.Second).Unix())}
	c.put("tok", claims, ks, now, 2*time.Second)
	if _, ok := c.get("tok", ks, now.Add(11*time.Second)); !ok {
		t.Fatal("miss within exp + leeway")
	}
	if _, ok := c.get("tok", ks, now.Add(12*time.Second)); ok {
		t.Fatal("hit after exp + leeway")
	}
	if _, ok := c.get("tok", &keySet{}, now); ok {
		t.Fatal("hit after the JWKS key set changed")
	}
	if _, ok := c.get("tok2", ks, now); ok {
		t.Fatal("hit for another token")
	}
	long := jwt.MapClaims{"exp": float64(now.Add(time.Hour).Unix())}
	c.put("long", long, nil, now, 0)
	if _, ok := c.get("long", nil, now.Add(verifiedTTL)); ok {
		t.Fatal("hit after the TTL")
	}
	c.put("noexp", jwt.MapClaims{"sub": "x"}, nil, now, 0)
	if _, ok := c.get("noexp", nil, now); ok {
		t.Fatal("a token without exp was cached")
	}
	for i := range verifiedMax + 10 {
		c.put(strconv.Itoa(i), long, nil, now, 0)
	}
	if n := c.entries.Len(); n > verifiedMax {
		t.Fatalf("cache grew to %d", n)
	}
}
