package jwtauth

import (
	"net/http/httptest"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzAuthenticate feeds arbitrary tokens through header, query and
// cookie to two providers (issuer routing, JWKS-less key lookup): no
// panic, and nothing but a valid signature is accepted.
func FuzzAuthenticate(f *testing.F) {
	k := keys()
	good := sign(f, jwt.SigningMethodHS256, k.secret, "hs", claims("alice", map[string]any{"iss": "https://a"}))
	for _, s := range []string{good, "", ".", "..", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good + "x", "Bearer " + good,
		"eyJhbGciOiJIUzI1NiIsImtpZCI6MX0.eyJpc3MiOlsiYSJdfQ.c2ln"} {
		f.Add(s)
	}
	pa := newTestProvider(f, ProviderConfig{Issuer: "https://a", GroupsClaim: "g.x", Algorithms: []string{"HS256", "ES256"},
		Secrets: []Secret{{KeyID: "hs", Value: k.secret}}, PublicKeys: []PublicKey{{KeyID: "ec", PEM: pemOf(f, &k.ec256.PublicKey)}}})
	pb := newTestProvider(f, ProviderConfig{Algorithms: []string{"RS256"}, PublicKeys: []PublicKey{{PEM: pemOf(f, &k.rsa.PublicKey)}}})
	a, err := New(Config{Providers: []*Provider{pa, pb}, Query: "t", Cookie: "c", ForwardClaims: map[string]string{"sub": "X-Sub", "x.y": "X-Y"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Authorization"] = []string{"Bearer " + tok}
		r.Header["Cookie"] = []string{"c=" + tok}
		r.URL.RawQuery = "t=" + tok
		id, err := a.Authenticate(r)
		if err == nil && tok != good {
			t.Fatalf("accepted a token other than the signed one: %q (%+v)", tok, id)
		}
		_, _ = pa.Verify(t.Context(), tok)
		_ = peekIssuer(tok)
	})
}

// FuzzParseJWKS feeds arbitrary documents to the JWKS parser.
func FuzzParseJWKS(f *testing.F) {
	k := keys()
	f.Add(jwksJSON(f, jwk{kid: "a", alg: "RS256", pub: &k.rsa.PublicKey}, jwk{kid: "b", alg: "ES256", pub: &k.ec256.PublicKey},
		jwk{kid: "c", alg: "EdDSA", pub: k.ed.Public()}))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AA"},{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","x5c":["AAAA"]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		set, _, err := parseJWKS(b)
		if err == nil && len(set.all) == 0 {
			t.Fatal("empty set without error")
		}
	})
}
