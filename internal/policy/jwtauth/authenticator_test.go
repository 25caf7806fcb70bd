package jwtauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/golang-jwt/jwt/v5"
)

func hsProvider(t *testing.T, mod func(*ProviderConfig)) *Provider {
	t.Helper()
	cfg := ProviderConfig{Algorithms: []string{"HS256"}, Secrets: []Secret{{Value: keys().secret}}}
	if mod != nil {
		mod(&cfg)
	}
	return newTestProvider(t, cfg)
}

func newAuth(t *testing.T, cfg Config) *Authenticator {
	t.Helper()
	if cfg.Providers == nil {
		cfg.Providers = []*Provider{hsProvider(t, nil)}
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func hsToken(t *testing.T, c jwt.MapClaims) string {
	return sign(t, jwt.SigningMethodHS256, keys().secret, "", c)
}

func bearer(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func challengeOf(err error) string {
	var e *identity.Error
	if errors.As(err, &e) {
		return e.Challenge
	}
	return ""
}

func TestNoCredentials(t *testing.T) {
	a := newAuth(t, Config{Realm: "api", Query: "access_token", Cookie: "jwt"})
	for name, r := range map[string]*http.Request{
		"nothing":      httptest.NewRequest("GET", "/?other=1", nil),
		"basic scheme": func() *http.Request { r := httptest.NewRequest("GET", "/", nil); r.SetBasicAuth("u", "p"); return r }(),
		"bearerish": func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearerx abc")
			return r
		}(),
	} {
		if _, err := a.Authenticate(r); !errors.Is(err, identity.ErrNoCredentials) {
			t.Errorf("%s: err = %v, want ErrNoCredentials", name, err)
		}
	}
	if got := a.Challenge(); got != `Bearer realm="api"` {
		t.Errorf("Challenge = %q", got)
	}
	if got := newAuth(t, Config{}).Challenge(); got != "Bearer" {
		t.Errorf("Challenge without realm = %q", got)
	}
}

func TestIdentity(t *testing.T) {
	p := hsProvider(t, func(c *ProviderConfig) { c.GroupsClaim = "realm_access.roles" })
	a := newAuth(t, Config{
		Providers: []*Provider{p},
		Consumers: identity.Consumers{"alice": {Name: "alice", Groups: []string{"staff", "admins"}}},
		ForwardClaims: map[string]string{
			"email": "X-User-Email", "sub": "x-user-id", "roles": "X-Roles", "tenant": "X-Tenant",
			"evil": "X-Evil", "absent": "X-Absent",
		},
	})
	tok := hsToken(t, claims("alice", map[string]any{
		"scope":        "read write",
		"scp":          []string{"write", "admin"},
		"realm_access": map[string]any{"roles": []string{"admins", "ops"}},
		"email":        "alice@example.com",
		"roles":        []string{"a", "b"},
		"tenant":       map[string]any{"id": 7},
		"evil":         "x\r\nInjected: 1",
	}))
	r := bearer(tok)
	r.Header.Add("X-Other", "kept")
	id, err := a.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	if id.Method != "jwt" || id.Subject != "alice" || id.Consumer == nil || id.Consumer.Name != "alice" {
		t.Fatalf("identity = %+v", id)
	}
	if want := []string{"staff", "admins", "ops"}; !slices.Equal(id.Groups, want) {
		t.Errorf("groups = %v, want %v", id.Groups, want)
	}
	if want := []string{"read", "write", "admin"}; !slices.Equal(id.Scopes, want) {
		t.Errorf("scopes = %v, want %v", id.Scopes, want)
	}
	if id.Claims["email"] != "alice@example.com" {
		t.Errorf("claims = %v", id.Claims)
	}
	wantUp := map[string]string{
		"X-User-Email": "alice@example.com", "X-User-Id": "alice", "X-Roles": "a,b", "X-Tenant": `{"id":7}`,
		"X-Evil": "", "X-Absent": "",
	}
	for h, v := range wantUp {
		if got := id.Upstream.Get(h); got != v {
			t.Errorf("upstream %s = %q, want %q", h, got, v)
		}
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("Authorization header left on the request")
	}
	if r.Header.Get("X-Other") != "kept" {
		t.Error("other headers touched")
	}
	// The consumer's groups slice is not aliased.
	if len(a.consumers["alice"].Groups) != 2 {
		t.Error("consumer groups modified")
	}

	// A subject without a configured consumer is still authenticated.
	id, err = a.Authenticate(bearer(hsToken(t, claims("bob", nil))))
	if err != nil || id.Consumer != nil || id.Name() != "bob" {
		t.Fatalf("unlisted subject: %+v, %v", id, err)
	}
}

func TestCustomClaims(t *testing.T) {
	p := hsProvider(t, func(c *ProviderConfig) { c.ConsumerClaim = "client_id"; c.ScopesClaim = "perms" })
	a := newAuth(t, Config{Providers: []*Provider{p}})
	id, err := a.Authenticate(bearer(hsToken(t, claims("ignored", map[string]any{
		"client_id": "svc-1", "perms": []string{"a", "b"}, "scope": "not-read",
	}))))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "svc-1" || !slices.Equal(id.Scopes, []string{"a", "b"}) {
		t.Fatalf("subject %q scopes %v", id.Subject, id.Scopes)
	}
	// A token without the consumer claim is refused.
	_, err = a.Authenticate(bearer(hsToken(t, claims("x", nil))))
	if status(err) != http.StatusUnauthorized {
		t.Fatalf("no consumer claim: %v", err)
	}
}

func TestKeepAuthorization(t *testing.T) {
	a := newAuth(t, Config{KeepAuthorization: true})
	r := bearer(hsToken(t, claims("alice", nil)))
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Authorization") == "" {
		t.Fatal("Authorization removed despite KeepAuthorization")
	}
}

func TestInvalidToken(t *testing.T) {
	a := newAuth(t, Config{Realm: "api"})
	expired := hsToken(t, claims("alice", map[string]any{"exp": 1}))
	forged := sign(t, jwt.SigningMethodHS256, keys().otherSecret, "", claims("alice", nil))
	for name, tok := range map[string]string{
		"garbage": "not.a.token", "expired": expired, "forged": forged, "empty": "",
		"huge": strings.Repeat("a", MaxTokenLength+1),
	} {
		r := bearer(tok)
		if tok == "" {
			r.Header.Set("Authorization", "Bearer")
		}
		_, err := a.Authenticate(r)
		if status(err) != http.StatusUnauthorized {
			t.Errorf("%s: err = %v, want 401", name, err)
			continue
		}
		want := `Bearer realm="api", error="invalid_token"`
		if name == "empty" {
			want = `Bearer realm="api", error="invalid_request"`
		}
		if got := challengeOf(err); got != want {
			t.Errorf("%s: challenge = %q, want %q", name, got, want)
		}
		if r.Header.Get("Authorization") == "" {
			t.Errorf("%s: Authorization removed from a refused request", name)
		}
	}
	var e *identity.Error
	_, err := a.Authenticate(bearer(expired))
	if errors.As(err, &e); e.Detail != "token expired" || !errors.Is(err, jwt.ErrTokenExpired) {
		t.Errorf("expired: detail %q, err %v", e.Detail, err)
	}
}

func TestRequiredScopesAndClaims(t *testing.T) {
	a := newAuth(t, Config{
		Realm:          "api",
		RequiredScopes: []string{"read", "write"},
		RequiredClaims: map[string][]string{"tenant": {"acme", "globex"}, "roles": {"admin"}, "email_verified": {"true"}},
	})
	ok := map[string]any{"scope": "read write", "tenant": "acme", "roles": []string{"user", "admin"}, "email_verified": true}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	if _, err := a.Authenticate(bearer(hsToken(t, claims("alice", ok)))); err != nil {
		t.Fatalf("all present: %v", err)
	}
	r := bearer(hsToken(t, claims("alice", with("scope", "read"))))
	_, err := a.Authenticate(r)
	if status(err) != http.StatusForbidden {
		t.Fatalf("missing scope: %v", err)
	}
	if got, want := challengeOf(err), `Bearer realm="api", error="insufficient_scope", scope="read write"`; got != want {
		t.Fatalf("scope challenge = %q, want %q", got, want)
	}
	if r.Header.Get("Authorization") == "" {
		t.Fatal("Authorization removed from a refused request")
	}
	for name, c := range map[string]map[string]any{
		"wrong tenant":     with("tenant", "initech"),
		"missing tenant":   with("tenant", nil),
		"roles without":    with("roles", []string{"user"}),
		"tenant as array":  with("tenant", []string{"initech"}),
		"unverified email": with("email_verified", false),
		"object as tenant": with("tenant", map[string]any{"acme": true}),
	} {
		if _, err := a.Authenticate(bearer(hsToken(t, claims("alice", c)))); status(err) != http.StatusForbidden {
			t.Errorf("%s: err = %v, want 403", name, err)
		}
	}
}

func TestQueryAndCookie(t *testing.T) {
	a := newAuth(t, Config{Query: "access_token", Cookie: "jwt"})
	tok := hsToken(t, claims("alice", nil))

	r := httptest.NewRequest("GET", "/p?a=1&access_token="+tok+"&b=%20x", nil)
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if r.URL.RawQuery != "a=1&b=%20x" {
		t.Fatalf("query after strip = %q", r.URL.RawQuery)
	}

	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "a=1; jwt="+tok+"; b=2")
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Get("Cookie"); got != "a=1; b=2" {
		t.Fatalf("cookie after strip = %q", got)
	}

	// The same token in two places is fine, and removed from both.
	r = bearer(tok)
	r.AddCookie(&http.Cookie{Name: "jwt", Value: tok})
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
		t.Fatalf("credential left: %v", r.Header)
	}

	// Different tokens in two places are refused.
	r = bearer(tok)
	r.URL.RawQuery = "access_token=" + hsToken(t, claims("bob", nil))
	if _, err := a.Authenticate(r); status(err) != http.StatusUnauthorized || !strings.Contains(challengeOf(err), "invalid_request") {
		t.Fatalf("two tokens: %v", err)
	}
	// A refused query token stays in place.
	r = httptest.NewRequest("GET", "/?access_token=bad", nil)
	if _, err := a.Authenticate(r); status(err) != http.StatusUnauthorized || r.URL.RawQuery != "access_token=bad" {
		t.Fatalf("bad query token: %v, query %q", err, r.URL.RawQuery)
	}
}

func TestCustomHeader(t *testing.T) {
	a := newAuth(t, Config{Header: "x-api-token"})
	tok := hsToken(t, claims("alice", nil))
	for _, v := range []string{tok, "Bearer " + tok} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("X-Api-Token", v)
		if _, err := a.Authenticate(r); err != nil {
			t.Fatalf("%q: %v", v[:10], err)
		}
		if r.Header.Get("X-Api-Token") != "" {
			t.Fatal("custom header not removed")
		}
	}
	// The Authorization header is not this authenticator's any more.
	if _, err := a.Authenticate(bearer(tok)); !errors.Is(err, identity.ErrNoCredentials) {
		t.Fatalf("Authorization with custom header configured: %v", err)
	}
}

func TestSeveralProviders(t *testing.T) {
	k := keys()
	pa := newTestProvider(t, ProviderConfig{Name: "a", Issuer: "https://a.example", Algorithms: []string{"HS256"}, Secrets: []Secret{{Value: k.secret}}})
	pb := newTestProvider(t, ProviderConfig{Name: "b", Algorithms: []string{"RS256", "HS256"},
		PublicKeys: []PublicKey{{PEM: pemOf(t, &k.rsa.PublicKey)}}, Secrets: []Secret{{Value: k.otherSecret}}})
	a := newAuth(t, Config{Providers: []*Provider{pa, pb}})

	fromA := sign(t, jwt.SigningMethodHS256, k.secret, "", claims("alice", map[string]any{"iss": "https://a.example"}))
	fromB := sign(t, jwt.SigningMethodRS256, k.rsa, "", claims("bob", map[string]any{"iss": "https://b.example"}))
	fromBNoIss := sign(t, jwt.SigningMethodHS256, k.otherSecret, "", claims("carol", nil))
	for name, tok := range map[string]string{"a": fromA, "b": fromB, "b without iss": fromBNoIss} {
		if _, err := a.Authenticate(bearer(tok)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Claiming A's issuer but signed with B's key: only A checks it, so
	// it fails even though B (no issuer check) would have accepted it.
	spoof := sign(t, jwt.SigningMethodHS256, k.otherSecret, "", claims("mallory", map[string]any{"iss": "https://a.example"}))
	if _, err := pb.Verify(t.Context(), spoof); err != nil {
		t.Fatalf("precondition: provider b alone accepts the token: %v", err)
	}
	if _, err := a.Authenticate(bearer(spoof)); status(err) != http.StatusUnauthorized {
		t.Fatalf("token claiming a's issuer signed by b: %v", err)
	}

	// Only issuer-bound providers: an unknown issuer is refused.
	only := newAuth(t, Config{Providers: []*Provider{pa, newTestProvider(t, ProviderConfig{Issuer: "https://c.example",
		Algorithms: []string{"HS256"}, Secrets: []Secret{{Value: k.otherSecret}}})}})
	_, err := only.Authenticate(bearer(fromBNoIss))
	if status(err) != http.StatusUnauthorized || !errors.Is(err, jwt.ErrTokenInvalidIssuer) {
		t.Fatalf("unknown issuer: %v", err)
	}
}

func TestNewValidation(t *testing.T) {
	p := hsProvider(t, nil)
	for name, cfg := range map[string]Config{
		"no providers":     {},
		"nil provider":     {Providers: []*Provider{nil}},
		"bad header":       {Providers: []*Provider{p}, Header: "bad header"},
		"bad cookie":       {Providers: []*Provider{p}, Cookie: "a;b"},
		"quoted realm":     {Providers: []*Provider{p}, Realm: `a"b`},
		"bad scope":        {Providers: []*Provider{p}, RequiredScopes: []string{"a b"}},
		"claim no values":  {Providers: []*Provider{p}, RequiredClaims: map[string][]string{"x": nil}},
		"bad forward hdr":  {Providers: []*Provider{p}, ForwardClaims: map[string]string{"sub": "X User"}},
		"empty forward cl": {Providers: []*Provider{p}, ForwardClaims: map[string]string{"": "X-User"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
