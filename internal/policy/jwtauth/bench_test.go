package jwtauth

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// benchSetups are the three common algorithms: HS256 from a static
// secret, RS256 and ES256 from a warm JWKS cache.
func benchSetups(b *testing.B) map[string]struct {
	p   *Provider
	tok string
} {
	k := keys()
	srv := newJWKSServer(b, jwksJSON(b,
		jwk{kid: "rsa", alg: "RS256", pub: &k.rsa.PublicKey},
		jwk{kid: "ec", alg: "ES256", pub: &k.ec256.PublicKey}))
	jw := newTestProvider(b, ProviderConfig{Algorithms: []string{"RS256", "ES256"}, JWKSURL: srv.URL})
	hs := newTestProvider(b, ProviderConfig{Algorithms: []string{"HS256"}, Secrets: []Secret{{KeyID: "hs", Value: k.secret}}})
	c := claims("alice", map[string]any{"scope": "read write", "iss": "https://idp.example", "aud": "api"})
	out := map[string]struct {
		p   *Provider
		tok string
	}{
		"HS256": {hs, sign(b, jwt.SigningMethodHS256, k.secret, "hs", c)},
		"RS256": {jw, sign(b, jwt.SigningMethodRS256, k.rsa, "rsa", c)},
		"ES256": {jw, sign(b, jwt.SigningMethodES256, k.ec256, "ec", c)},
	}
	for name, s := range out { // warm the cache
		if _, err := s.p.Verify(context.Background(), s.tok); err != nil {
			b.Fatalf("%s: %v", name, err)
		}
	}
	return out
}

// BenchmarkVerify measures full verification (signature and claims,
// keys from the warm JWKS cache): the verified-token cache is emptied
// before every call. BenchmarkVerifyCached is a repeat token.
func BenchmarkVerify(b *testing.B) {
	setups := benchSetups(b)
	for _, alg := range []string{"HS256", "RS256", "ES256"} {
		s := setups[alg]
		b.Run(alg, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				s.p.verified.entries.Clear()
				if _, err := s.p.Verify(ctx, s.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyCached(b *testing.B) {
	setups := benchSetups(b)
	for _, alg := range []string{"HS256", "RS256", "ES256"} {
		s := setups[alg]
		b.Run(alg, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.p.Verify(ctx, s.tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	setups := benchSetups(b)
	for _, alg := range []string{"HS256", "RS256", "ES256"} {
		s := setups[alg]
		a, err := New(Config{Providers: []*Provider{s.p}, Realm: "api", RequiredScopes: []string{"read"},
			ForwardClaims: map[string]string{"sub": "X-User"}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(alg, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/", nil)
			b.ReportAllocs()
			for b.Loop() {
				r.Header.Set("Authorization", "Bearer "+s.tok)
				if _, err := a.Authenticate(r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
