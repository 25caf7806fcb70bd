package jwtauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// algCase is one algorithm with a signing key and its public half.
type algCase struct {
	alg  string
	sign any
	pub  any // nil for HMAC
}

func allAlgs() []algCase {
	k := keys()
	return []algCase{
		{"HS256", k.secret, nil}, {"HS384", k.secret, nil}, {"HS512", k.secret, nil},
		{"RS256", k.rsa, &k.rsa.PublicKey}, {"RS384", k.rsa, &k.rsa.PublicKey}, {"RS512", k.rsa, &k.rsa.PublicKey},
		{"PS256", k.rsa, &k.rsa.PublicKey}, {"PS384", k.rsa, &k.rsa.PublicKey}, {"PS512", k.rsa, &k.rsa.PublicKey},
		{"ES256", k.ec256, &k.ec256.PublicKey}, {"ES384", k.ec384, &k.ec384.PublicKey}, {"ES512", k.ec521, &k.ec521.PublicKey},
		{"EdDSA", k.ed, k.ed.Public()},
	}
}

func TestAlgorithmsStaticKeys(t *testing.T) {
	for _, tc := range allAlgs() {
		t.Run(tc.alg, func(t *testing.T) {
			cfg := ProviderConfig{Algorithms: []string{tc.alg}}
			if tc.pub == nil {
				cfg.Secrets = []Secret{{KeyID: "k", Value: tc.sign.([]byte)}}
			} else {
				cfg.PublicKeys = []PublicKey{{KeyID: "k", PEM: pemOf(t, tc.pub)}}
			}
			p := newTestProvider(t, cfg)
			tok := sign(t, jwt.GetSigningMethod(tc.alg), tc.sign, "k", claims("alice", nil))
			c, err := p.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c["sub"] != "alice" {
				t.Fatalf("sub = %v", c["sub"])
			}
			// A tampered payload must fail: the signature is really checked.
			parts := strings.Split(tok, ".")
			parts[1] = strings.Split(sign(t, jwt.SigningMethodHS256, []byte("x"), "", claims("mallory", nil)), ".")[1]
			if _, err := p.Verify(context.Background(), strings.Join(parts, ".")); err == nil {
				t.Fatal("tampered token accepted")
			}
		})
	}
}

func TestAlgorithmsJWKS(t *testing.T) {
	for _, tc := range allAlgs() {
		if tc.pub == nil {
			continue
		}
		t.Run(tc.alg, func(t *testing.T) {
			srv := newJWKSServer(t, jwksJSON(t, jwk{kid: "k", alg: tc.alg, pub: tc.pub}))
			p := newTestProvider(t, ProviderConfig{Algorithms: []string{tc.alg}, JWKSURL: srv.URL})
			tok := sign(t, jwt.GetSigningMethod(tc.alg), tc.sign, "k", claims("alice", nil))
			if _, err := p.Verify(context.Background(), tok); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestNoneRefused(t *testing.T) {
	for _, algs := range [][]string{{"none"}, {"HS256", "None"}} {
		if _, err := NewProvider(ProviderConfig{Algorithms: algs, Secrets: []Secret{{Value: keys().secret}}}, discard); err == nil {
			t.Fatalf("algorithms %v accepted", algs)
		}
	}
	p := newTestProvider(t, ProviderConfig{Algorithms: []string{"HS256"}, Secrets: []Secret{{Value: keys().secret}}})
	unsigned := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claims("alice", nil))
	if _, err := p.Verify(context.Background(), unsigned); err == nil {
		t.Fatal("unsigned token accepted")
	}
	// Even the key lookup refuses it should the allow-list ever let it in.
	tok, _, err := jwt.NewParser().ParseUnverified(unsigned, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.keyFor(context.Background(), tok); err == nil {
		t.Fatal("key returned for alg none")
	}
}

// A token whose header lists critical extensions is refused, though
// its signature is good (RFC 7515 §4.1.11).
func TestCritRefused(t *testing.T) {
	k := keys()
	p := newTestProvider(t, ProviderConfig{Algorithms: []string{"HS256"}, Secrets: []Secret{{Value: k.secret}}})
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("alice", nil))
	tok.Header["crit"] = []string{"b64"}
	tok.Header["b64"] = false
	s, err := tok.SignedString(k.secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Verify(context.Background(), s); err == nil {
		t.Fatal("token with crit accepted")
	}
	if _, err := p.Verify(context.Background(), sign(t, jwt.SigningMethodHS256, k.secret, "", claims("alice", nil))); err != nil {
		t.Fatalf("plain token refused: %v", err)
	}
}

func TestAlgorithmConfusion(t *testing.T) {
	k := keys()
	pubPEM := pemOf(t, &k.rsa.PublicKey)
	ctx := context.Background()

	// RS256-only provider: HS256 signed with the public key's PEM.
	p := newTestProvider(t, ProviderConfig{Algorithms: []string{"RS256"}, PublicKeys: []PublicKey{{KeyID: "rsa", PEM: pubPEM}}})
	for _, kid := range []string{"", "rsa"} {
		forged := sign(t, jwt.SigningMethodHS256, pubPEM, kid, claims("mallory", nil))
		if _, err := p.Verify(ctx, forged); err == nil {
			t.Fatalf("HS256 token signed with the RSA PEM accepted (kid %q)", kid)
		}
	}

	// A provider allowing both families: a kid naming the RSA key with
	// alg HS256 is refused for the mismatch, not tried with secrets.
	mixed := newTestProvider(t, ProviderConfig{
		Algorithms: []string{"RS256", "HS256", "ES256"},
		Secrets:    []Secret{{KeyID: "hs", Value: k.secret}},
		PublicKeys: []PublicKey{{KeyID: "rsa", PEM: pubPEM}, {KeyID: "ec", PEM: pemOf(t, &k.ec256.PublicKey)}},
	})
	forged := sign(t, jwt.SigningMethodHS256, pubPEM, "rsa", claims("mallory", nil))
	if _, err := mixed.Verify(ctx, forged); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("HS256 with RSA kid: err = %v, want ErrKeyMismatch", err)
	}
	forged = sign(t, jwt.SigningMethodHS256, pubPEM, "", claims("mallory", nil))
	if _, err := mixed.Verify(ctx, forged); err == nil {
		t.Fatal("kid-less HS256 signed with the RSA PEM accepted")
	}
	// An RS256 token naming the HMAC secret's kid.
	forged = sign(t, jwt.SigningMethodRS256, k.rsa, "hs", claims("mallory", nil))
	if _, err := mixed.Verify(ctx, forged); !errors.Is(err, ErrKeyMismatch) {
		t.Fatalf("RS256 with HMAC kid: err = %v, want ErrKeyMismatch", err)
	}
	// ES384 naming a P-256 key: the curve fixes the algorithm.
	forged = sign(t, jwt.SigningMethodES384, k.ec384, "ec", claims("mallory", nil))
	if _, err := mixed.Verify(ctx, forged); err == nil {
		t.Fatal("ES384 token verified against a P-256 key id")
	}
	// The genuine tokens still pass.
	for _, tok := range []string{
		sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims("alice", nil)),
		sign(t, jwt.SigningMethodRS256, k.rsa, "rsa", claims("alice", nil)),
		sign(t, jwt.SigningMethodES256, k.ec256, "ec", claims("alice", nil)),
		sign(t, jwt.SigningMethodRS256, k.rsa, "", claims("alice", nil)),
	} {
		if _, err := mixed.Verify(ctx, tok); err != nil {
			t.Fatalf("genuine token refused: %v", err)
		}
	}
	// Algorithms outside the allow-list are refused even with a fitting key.
	if _, err := mixed.Verify(ctx, sign(t, jwt.SigningMethodRS512, k.rsa, "rsa", claims("alice", nil))); err == nil {
		t.Fatal("RS512 accepted by a provider allowing RS256")
	}
}

func TestClaimValidation(t *testing.T) {
	k := keys()
	now := time.Now()
	base := ProviderConfig{
		Algorithms: []string{"HS256"},
		Secrets:    []Secret{{Value: k.secret}},
		Issuer:     "https://idp.example",
		Audiences:  []string{"api", "other"},
		Leeway:     30 * time.Second,
	}
	good := map[string]any{"iss": "https://idp.example", "aud": "api"}
	with := func(extra map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range good {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name       string
		extra      map[string]any
		allowNoExp bool
		want       error // nil: accepted
	}{
		{"valid", nil, false, nil},
		{"aud array", map[string]any{"aud": []string{"x", "other"}}, false, nil},
		{"expired", map[string]any{"exp": now.Add(-time.Minute).Unix()}, false, jwt.ErrTokenExpired},
		{"expired within leeway", map[string]any{"exp": now.Add(-10 * time.Second).Unix()}, false, nil},
		{"not yet valid", map[string]any{"nbf": now.Add(time.Minute).Unix()}, false, jwt.ErrTokenNotValidYet},
		{"nbf within leeway", map[string]any{"nbf": now.Add(10 * time.Second).Unix()}, false, nil},
		{"iat in the future", map[string]any{"iat": now.Add(time.Minute).Unix()}, false, jwt.ErrTokenUsedBeforeIssued},
		{"missing exp", map[string]any{"exp": nil}, false, jwt.ErrTokenRequiredClaimMissing},
		{"missing exp allowed", map[string]any{"exp": nil}, true, nil},
		{"wrong iss", map[string]any{"iss": "https://evil.example"}, false, jwt.ErrTokenInvalidIssuer},
		{"missing iss", map[string]any{"iss": nil}, false, jwt.ErrTokenRequiredClaimMissing},
		{"wrong aud", map[string]any{"aud": "nope"}, false, jwt.ErrTokenInvalidAudience},
		{"missing aud", map[string]any{"aud": nil}, false, jwt.ErrTokenRequiredClaimMissing},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base
			cfg.AllowMissingExpiry = tc.allowNoExp
			p := newTestProvider(t, cfg)
			tok := sign(t, jwt.SigningMethodHS256, k.secret, "", claims("alice", with(tc.extra)))
			_, err := p.Verify(context.Background(), tok)
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTokenTooLarge(t *testing.T) {
	k := keys()
	p := newTestProvider(t, ProviderConfig{Algorithms: []string{"HS256"}, Secrets: []Secret{{Value: k.secret}}})
	big := sign(t, jwt.SigningMethodHS256, k.secret, "", claims("alice", map[string]any{"pad": strings.Repeat("x", MaxTokenLength)}))
	if _, err := p.Verify(context.Background(), big); !errors.Is(err, ErrTokenTooLarge) {
		t.Fatalf("err = %v, want ErrTokenTooLarge", err)
	}
}

func TestWildcardKeys(t *testing.T) {
	k := keys()
	p := newTestProvider(t, ProviderConfig{
		Algorithms: []string{"HS256"},
		Secrets:    []Secret{{KeyID: "a", Value: k.otherSecret}, {Value: k.secret}},
	})
	ctx := context.Background()
	// A kid naming no key falls back to the kid-less secret.
	if _, err := p.Verify(ctx, sign(t, jwt.SigningMethodHS256, k.secret, "whatever", claims("alice", nil))); err != nil {
		t.Fatalf("unknown kid with wildcard secret: %v", err)
	}
	// No kid: every fitting key is tried.
	for _, s := range [][]byte{k.secret, k.otherSecret} {
		if _, err := p.Verify(ctx, sign(t, jwt.SigningMethodHS256, s, "", claims("alice", nil))); err != nil {
			t.Fatalf("kid-less token: %v", err)
		}
	}
	// A kid naming a key is checked with that key only.
	if _, err := p.Verify(ctx, sign(t, jwt.SigningMethodHS256, k.secret, "a", claims("alice", nil))); err == nil {
		t.Fatal("token with kid a verified by another key")
	}
	// A non-string kid is refused.
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims("alice", nil))
	tok.Header["kid"] = 7
	s, _ := tok.SignedString(k.secret)
	if _, err := p.Verify(ctx, s); err == nil {
		t.Fatal("numeric kid accepted")
	}
}

func TestPEMFormats(t *testing.T) {
	k := keys()
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.rsa.PublicKey, k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "", claims("alice", nil))
	for name, b := range map[string][]byte{"pkcs1": pkcs1, "certificate": cert, "pkix": pemOf(t, &k.rsa.PublicKey)} {
		p := newTestProvider(t, ProviderConfig{Algorithms: []string{"RS256"}, PublicKeys: []PublicKey{{PEM: b}}})
		if _, err := p.Verify(context.Background(), tok); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func TestNewProviderValidation(t *testing.T) {
	k := keys()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(k.ec256)
	if err != nil {
		t.Fatal(err)
	}
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})
	rsaPEM := pemOf(t, &k.rsa.PublicKey)
	cases := map[string]ProviderConfig{
		"no algorithms":           {Secrets: []Secret{{Value: k.secret}}},
		"unknown algorithm":       {Algorithms: []string{"HS1"}, Secrets: []Secret{{Value: k.secret}}},
		"none":                    {Algorithms: []string{"none"}},
		"HS without secret":       {Algorithms: []string{"HS256"}, JWKSURL: "https://idp.example/jwks"},
		"RS without key":          {Algorithms: []string{"RS256"}, Secrets: []Secret{{Value: k.secret}}},
		"secret without HS":       {Algorithms: []string{"RS256"}, PublicKeys: []PublicKey{{PEM: rsaPEM}}, Secrets: []Secret{{Value: k.secret}}},
		"empty secret":            {Algorithms: []string{"HS256"}, Secrets: []Secret{{}}},
		"bad PEM":                 {Algorithms: []string{"RS256"}, PublicKeys: []PublicKey{{PEM: []byte("nope")}}},
		"private key PEM":         {Algorithms: []string{"ES256"}, PublicKeys: []PublicKey{{PEM: privPEM}}},
		"small RSA":               {Algorithms: []string{"RS256"}, PublicKeys: []PublicKey{{PEM: pemOf(t, &small.PublicKey)}}},
		"bad JWKS URL":            {Algorithms: []string{"RS256"}, JWKSURL: "ftp://idp.example/jwks"},
		"relative JWKS URL":       {Algorithms: []string{"RS256"}, JWKSURL: "/jwks"},
		"negative leeway":         {Algorithms: []string{"HS256"}, Secrets: []Secret{{Value: k.secret}}, Leeway: -time.Second},
		"EdDSA with only RSA key": {Algorithms: []string{"EdDSA", "RS256"}, PublicKeys: []PublicKey{{PEM: rsaPEM}}},
	}
	for name, cfg := range cases {
		if _, err := NewProvider(cfg, discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A JWKS URL alone is enough for asymmetric algorithms, and
	// construction does not touch the network (the host does not exist).
	p, err := NewProvider(ProviderConfig{Algorithms: []string{"RS256", "ES256", "EdDSA"}, JWKSURL: "https://idp.invalid/jwks"}, discard)
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	p.Close() // idempotent
}
