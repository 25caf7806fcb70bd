package jwtauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

// jwksProvider is a provider on srv with a fake rate-limit clock and no
// periodic refresh during the test.
func jwksProvider(t *testing.T, srv *jwksServer, clock *fakeClock, minRefresh time.Duration) *Provider {
	t.Helper()
	p := newTestProvider(t, ProviderConfig{
		Algorithms:     []string{"RS256", "ES256"},
		JWKSURL:        srv.URL,
		JWKSRefresh:    time.Hour,
		JWKSMinRefresh: minRefresh,
		JWKSTimeout:    2 * time.Second,
	})
	p.jwks.now = clock.Now
	return p
}

func randomKID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func TestJWKSFetchedAndCached(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, jwk{kid: "k1", alg: "RS256", pub: &k.rsa.PublicKey}))
	p := jwksProvider(t, srv, newFakeClock(), time.Minute)
	p.Start(context.Background())
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil))
	for range 20 {
		if _, err := p.Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := srv.fetches.Load(); n != 1 {
		t.Fatalf("fetches = %d, want 1 (cached)", n)
	}
}

func TestJWKSUnknownKIDFloodIsRateLimited(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, jwk{kid: "k1", alg: "RS256", pub: &k.rsa.PublicKey}))
	clock := newFakeClock()
	p := jwksProvider(t, srv, clock, 30*time.Second)
	p.Start(context.Background())
	if _, err := p.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil))); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // the next unknown kid may refresh once

	flood := func() {
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				tok := sign(t, jwt.SigningMethodRS256, k.rsa2, randomKID(), claims("mallory", nil))
				if _, err := p.Verify(context.Background(), tok); !errors.Is(err, ErrUnknownKey) {
					t.Errorf("err = %v, want ErrUnknownKey", err)
				}
			})
		}
		wg.Wait()
	}
	flood()
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches after 100 random kids = %d, want 2 (initial + one refresh)", n)
	}
	flood()
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches after 200 random kids = %d, want still 2", n)
	}
}

func TestJWKSNewKeyPickedUpByUnknownKIDRefresh(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, jwk{kid: "k1", alg: "RS256", pub: &k.rsa.PublicKey}))
	clock := newFakeClock()
	p := jwksProvider(t, srv, clock, 30*time.Second)
	ctx := context.Background()
	if _, err := p.Verify(ctx, sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil))); err != nil {
		t.Fatal(err)
	}
	srv.set(jwksJSON(t,
		jwk{kid: "k1", alg: "RS256", pub: &k.rsa.PublicKey},
		jwk{kid: "k2", alg: "ES256", pub: &k.ec256.PublicKey}))
	tok2 := sign(t, jwt.SigningMethodES256, k.ec256, "k2", claims("bob", nil))
	// Within the rate limit the new key is not fetched yet.
	if _, err := p.Verify(ctx, tok2); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("before the limit: err = %v, want ErrUnknownKey", err)
	}
	clock.Advance(31 * time.Second)
	if _, err := p.Verify(ctx, tok2); err != nil {
		t.Fatalf("after the limit: %v", err)
	}
	if n := srv.fetches.Load(); n != 2 {
		t.Fatalf("fetches = %d, want 2", n)
	}
}

func TestJWKSPeriodicRefresh(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, jwk{kid: "k1", alg: "RS256", pub: &k.rsa.PublicKey}))
	p := newTestProvider(t, ProviderConfig{
		Algorithms: []string{"RS256"}, JWKSURL: srv.URL,
		JWKSRefresh: 10 * time.Millisecond, JWKSMinRefresh: time.Hour,
	})
	clock := newFakeClock() // frozen: unknown kids never refresh
	p.jwks.now = clock.Now
	p.Start(context.Background())
	tok1 := sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil))
	tok2 := sign(t, jwt.SigningMethodRS256, k.rsa2, "k2", claims("bob", nil))
	waitFor(t, "first fetch", func() bool { return p.jwks.current() != nil })
	if _, err := p.Verify(context.Background(), tok1); err != nil {
		t.Fatal(err)
	}
	// Rotation: k1 is withdrawn, k2 published. Only the periodic refresh
	// can notice, and it drops the withdrawn key.
	srv.set(jwksJSON(t, jwk{kid: "k2", alg: "RS256", pub: &k.rsa2.PublicKey}))
	waitFor(t, "k2 via periodic refresh", func() bool {
		_, err := p.Verify(context.Background(), tok2)
		return err == nil
	})
	if _, err := p.Verify(context.Background(), tok1); err == nil {
		t.Fatal("token of the withdrawn key still accepted")
	}
	// Close stops the loop: no fetch after it.
	p.Close()
	n := srv.fetches.Load()
	if n < 2 {
		t.Fatalf("fetches = %d", n)
	}
	time.Sleep(50 * time.Millisecond) // five periods: a running loop would fetch
	if m := srv.fetches.Load(); m != n {
		t.Fatalf("fetches went on after Close: %d -> %d", n, m)
	}
}

func TestJWKSServerDownKeepsCachedKeys(t *testing.T) {
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, jwk{kid: "k1", alg: "RS256", pub: &k.rsa.PublicKey}))
	clock := newFakeClock()
	p := jwksProvider(t, srv, clock, 30*time.Second)
	ctx := context.Background()
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil))
	if _, err := p.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	srv.down.Store(true)
	clock.Advance(time.Minute)
	// A new kid makes a (failing) refresh; the known key keeps working
	// and the unknown one is a plain 401, not 503.
	if _, err := p.Verify(ctx, sign(t, jwt.SigningMethodRS256, k.rsa2, "k9", claims("bob", nil))); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("unknown kid while down: err = %v, want ErrUnknownKey", err)
	}
	if srv.fetches.Load() != 2 {
		t.Fatalf("fetches = %d, want 2", srv.fetches.Load())
	}
	if _, err := p.Verify(ctx, tok); err != nil {
		t.Fatalf("cached key after failed refresh: %v", err)
	}
	// A JWKS answering garbage or an empty set does not wipe the cache.
	srv.down.Store(false)
	for _, body := range []string{"{", `{"keys":[]}`, `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`} {
		srv.set([]byte(body))
		clock.Advance(time.Minute)
		_, _ = p.Verify(ctx, sign(t, jwt.SigningMethodRS256, k.rsa2, randomKID(), claims("bob", nil)))
		if _, err := p.Verify(ctx, tok); err != nil {
			t.Fatalf("after JWKS %q: %v", body, err)
		}
	}
}

func TestJWKSNeverReachable(t *testing.T) {
	k := keys()
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	p := newTestProvider(t, ProviderConfig{
		Algorithms: []string{"RS256", "HS256"}, JWKSURL: url,
		Secrets: []Secret{{KeyID: "hs", Value: k.secret}},
	})
	p.Start(context.Background())
	ctx := context.Background()
	if _, err := p.Verify(ctx, sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil))); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("err = %v, want ErrKeysUnavailable", err)
	}
	// Static keys do not depend on the IdP.
	if _, err := p.Verify(ctx, sign(t, jwt.SigningMethodHS256, k.secret, "hs", claims("alice", nil))); err != nil {
		t.Fatalf("static key while JWKS down: %v", err)
	}
	a, err := New(Config{Providers: []*Provider{p}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil)))
	_, err = a.Authenticate(r)
	if status(err) != http.StatusServiceUnavailable {
		t.Fatalf("Authenticate: %v (status %d), want 503", err, status(err))
	}
}

func TestJWKSResponseBounded(t *testing.T) {
	k := keys()
	good := string(jwksJSON(t, jwk{kid: "k1", alg: "RS256", pub: &k.rsa.PublicKey}))
	// A valid document padded with whitespace past the limit.
	huge := good[:len(good)-1] + strings.Repeat(" ", MaxJWKSBytes) + "}"
	srv := newJWKSServer(t, []byte(huge))
	p := jwksProvider(t, srv, newFakeClock(), time.Minute)
	tok := sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil))
	if _, err := p.Verify(context.Background(), tok); !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("oversized JWKS: err = %v, want ErrKeysUnavailable", err)
	}
	// The same document within the limit is fine.
	srv2 := newJWKSServer(t, []byte(good[:len(good)-1]+strings.Repeat(" ", 1000)+"}"))
	p2 := jwksProvider(t, srv2, newFakeClock(), time.Minute)
	if _, err := p2.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSFetchTimeout(t *testing.T) {
	k := keys()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	p := newTestProvider(t, ProviderConfig{Algorithms: []string{"RS256"}, JWKSURL: slow.URL, JWKSTimeout: 50 * time.Millisecond})
	start := time.Now()
	_, err := p.Verify(context.Background(), sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil)))
	if !errors.Is(err, ErrKeysUnavailable) {
		t.Fatalf("err = %v, want ErrKeysUnavailable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Verify took %v despite a 50ms JWKS timeout", d)
	}
}

func TestJWKSCallerContextBoundsWait(t *testing.T) {
	k := keys()
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	p := newTestProvider(t, ProviderConfig{Algorithms: []string{"RS256"}, JWKSURL: slow.URL, JWKSTimeout: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := p.Verify(ctx, sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claims("alice", nil))); err == nil {
		t.Fatal("accepted without keys")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Verify waited %v past its context", d)
	}
}

func TestParseJWKS(t *testing.T) {
	k := keys()
	good := jwk{kid: "ok", alg: "RS256", pub: &k.rsa.PublicKey}
	set, skipped, err := parseJWKS(jwksJSON(t, good))
	if err != nil || len(set.all) != 1 || skipped != 0 {
		t.Fatalf("good set: %v, %d keys, %d skipped", err, len(set.all), skipped)
	}
	mixed := fmt.Sprintf(`{"keys":[
		{"kty":"oct","kid":"sym","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
		{"kty":"RSA","kid":"enc","use":"enc","n":"%[1]s","e":"AQAB"},
		{"kty":"RSA","kid":"oaep","alg":"RSA-OAEP","n":"%[1]s","e":"AQAB"},
		{"kty":"RSA","kid":"es","alg":"ES256","n":"%[1]s","e":"AQAB"},
		{"kty":"EC","kid":"curve","alg":"ES384","crv":"P-256","x":"%[2]s","y":"%[3]s"},
		{"kty":"RSA","kid":"sig","n":"%[1]s","e":"AQAB"}
	]}`, b64(k.rsa.N.Bytes()), b64(k.ec256.X.FillBytes(make([]byte, 32))), b64(k.ec256.Y.FillBytes(make([]byte, 32))))
	set, skipped, err = parseJWKS([]byte(mixed))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.all) != 1 || set.all[0].kid != "sig" || skipped != 5 {
		t.Fatalf("kept %d keys (%v), skipped %d; want only kid sig", len(set.all), set.all, skipped)
	}
	for _, bad := range []string{"", "{", "[]", `{"keys":[]}`, `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`} {
		if _, _, err := parseJWKS([]byte(bad)); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	k := keys()
	srv := newJWKSServer(t, jwksJSON(t, jwk{kid: "k1", alg: "RS256", pub: &k.rsa.PublicKey}))
	defer srv.Close() // before goleak looks, unlike t.Cleanup
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	p, err := NewProvider(ProviderConfig{
		Algorithms: []string{"RS256"}, JWKSURL: srv.URL, JWKSRefresh: 5 * time.Millisecond,
		HTTPClient: &http.Client{Transport: tr},
	}, discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx)
	waitFor(t, "fetches", func() bool { return srv.fetches.Load() >= 3 })
	cancel() // Start's context ends the refresh like Close does
	p.Close()
	p.Close()
	p.Start(context.Background()) // no restart after Close
	tr.CloseIdleConnections()
}
