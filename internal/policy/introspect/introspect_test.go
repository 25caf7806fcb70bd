package introspect

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/credential"
)

var t0 = time.Unix(1_700_000_000, 0)

// idp is a fake introspection endpoint answering from a token → response map.
type idp struct {
	*httptest.Server
	calls   atomic.Int64
	mu      sync.Mutex
	answers map[string]any // token → JSON response; missing = inactive
	status  int
	block   chan struct{} // when set, each call waits for it to close
	lastReq url.Values
	lastHdr http.Header
	user    string
	pass    string
}

func newIDP(t testing.TB) *idp {
	p := &idp{answers: map[string]any{}, status: 200}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.calls.Add(1)
		r.ParseForm()
		p.mu.Lock()
		p.lastReq, p.lastHdr = r.PostForm, r.Header.Clone()
		p.user, p.pass, _ = r.BasicAuth()
		ans, ok := p.answers[r.PostForm.Get("token")]
		status, block := p.status, p.block
		p.mu.Unlock()
		if r.Method != http.MethodPost {
			status = 405
		}
		if block != nil {
			<-block
		}
		if !ok {
			ans = map[string]any{"active": false}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(ans)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *idp) configure(status int, block chan struct{}) {
	p.mu.Lock()
	p.status, p.block = status, block
	p.mu.Unlock()
}

func (p *idp) set(tok string, ans any) {
	p.mu.Lock()
	p.answers[tok] = ans
	p.mu.Unlock()
}

var consumers = identity.Consumers{
	"alice":  {Name: "alice", Groups: []string{"staff"}},
	"svc-ci": {Name: "svc-ci"},
}

func newAuth(t testing.TB, p *idp, cfg Config) (*Authenticator, *time.Time) {
	t.Helper()
	cfg.Endpoint = p.URL
	if cfg.Consumers == nil {
		cfg.Consumers = consumers
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	a.now = func() time.Time { return now }
	return a, &now
}

func bearer(tok string) *http.Request {
	r := httptest.NewRequest("GET", "/x", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func refusal(t *testing.T, err error, status int) *identity.Error {
	t.Helper()
	var e *identity.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("err = %v, want a %d refusal", err, status)
	}
	return e
}

func TestActive(t *testing.T) {
	p := newIDP(t)
	p.set("tok", map[string]any{"active": true, "sub": "alice", "scope": "read write", "client_id": "app", "exp": float64(t0.Unix() + 300), "iss": "https://idp"})
	a, _ := newAuth(t, p, Config{ClientID: "gate way", ClientSecret: "s:e&c", TokenTypeHint: "access_token"})
	r := bearer("tok")
	id, err := a.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	if id.Method != "introspection" || id.Subject != "alice" || id.Consumer != consumers["alice"] ||
		strings.Join(id.Scopes, " ") != "read write" || strings.Join(id.Groups, ",") != "staff" || id.Claims["client_id"] != "app" {
		t.Errorf("identity %+v", id)
	}
	// Client credentials are form-encoded, then sent as Basic (RFC 6749 2.3.1).
	u, _ := url.QueryUnescape(p.user)
	s, _ := url.QueryUnescape(p.pass)
	if u != "gate way" || s != "s:e&c" {
		t.Errorf("client credentials %q %q", p.user, p.pass)
	}
	if p.lastReq.Get("token") != "tok" || p.lastReq.Get("token_type_hint") != "access_token" || p.lastHdr.Get("Accept") != "application/json" {
		t.Errorf("request %v %v", p.lastReq, p.lastHdr)
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("token forwarded upstream without KeepAuthorization")
	}
	r = bearer("tok")
	a.keep = true
	a.Authenticate(r)
	if r.Header.Get("Authorization") == "" {
		t.Error("token removed with KeepAuthorization")
	}
}

func TestInactive(t *testing.T) {
	p := newIDP(t)
	a, now := newAuth(t, p, Config{Realm: "api"})
	for range 3 {
		_, err := a.Authenticate(bearer("revoked"))
		e := refusal(t, err, 401)
		if !strings.HasPrefix(e.Challenge, `Bearer realm="api", error="invalid_token"`) {
			t.Errorf("challenge %q", e.Challenge)
		}
	}
	if p.calls.Load() != 1 {
		t.Fatalf("%d calls, want 1 (inactive result cached)", p.calls.Load())
	}
	*now = now.Add(inactiveTTL)
	a.Authenticate(bearer("revoked"))
	if p.calls.Load() != 2 {
		t.Fatalf("%d calls, want 2 (inactive result cached only briefly)", p.calls.Load())
	}
}

func TestCacheHonoursExpAndTTL(t *testing.T) {
	p := newIDP(t)
	p.set("short", map[string]any{"active": true, "sub": "alice", "exp": float64(t0.Unix() + 5)})
	p.set("noexp", map[string]any{"active": true, "sub": "alice"})
	a, now := newAuth(t, p, Config{CacheTTL: 30 * time.Second})

	for range 3 {
		if _, err := a.Authenticate(bearer("short")); err != nil {
			t.Fatal(err)
		}
	}
	if p.calls.Load() != 1 {
		t.Fatalf("%d calls, want 1", p.calls.Load())
	}
	*now = t0.Add(4 * time.Second)
	a.Authenticate(bearer("short"))
	if p.calls.Load() != 1 {
		t.Fatal("cached result not used before exp")
	}
	*now = t0.Add(5 * time.Second)
	_, err := a.Authenticate(bearer("short"))
	refusal(t, err, 401)
	if p.calls.Load() != 2 {
		t.Fatalf("%d calls, want 2: cache entry must end at exp", p.calls.Load())
	}

	*now = t0
	a.Authenticate(bearer("noexp"))
	*now = t0.Add(29 * time.Second)
	a.Authenticate(bearer("noexp"))
	if p.calls.Load() != 3 {
		t.Fatalf("%d calls, want 3", p.calls.Load())
	}
	*now = t0.Add(30 * time.Second)
	a.Authenticate(bearer("noexp"))
	if p.calls.Load() != 4 {
		t.Fatalf("%d calls, want 4: CacheTTL must cap caching", p.calls.Load())
	}
}

func TestCacheDisabled(t *testing.T) {
	p := newIDP(t)
	p.set("tok", map[string]any{"active": true, "sub": "alice"})
	a, _ := newAuth(t, p, Config{CacheTTL: -1})
	a.Authenticate(bearer("tok"))
	a.Authenticate(bearer("tok"))
	if p.calls.Load() != 2 {
		t.Fatalf("%d calls, want 2", p.calls.Load())
	}
}

func TestEndpointFailuresFailClosed(t *testing.T) {
	p := newIDP(t)
	p.set("tok", map[string]any{"active": true, "sub": "alice"})
	// The timeout also bounds the calls that must succeed (after the
	// recovery): a second, so a loaded machine does not time them out.
	a, _ := newAuth(t, p, Config{Timeout: time.Second})

	p.configure(500, nil)
	_, err := a.Authenticate(bearer("tok"))
	refusal(t, err, 503)

	block := make(chan struct{})
	p.configure(200, block)
	start := time.Now()
	_, err = a.Authenticate(bearer("tok"))
	refusal(t, err, 503)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("timeout took %v with a 1s timeout", d)
	}
	close(block)
	p.configure(200, nil)

	// Failures are not cached: the endpoint recovered.
	if _, err := a.Authenticate(bearer("tok")); err != nil {
		t.Fatalf("after recovery: %v", err)
	}

	for name, body := range map[string]string{
		"not json":    "<html>",
		"no active":   `{"sub":"alice"}`,
		"bad exp":     `{"active":true,"exp":"soon"}`,
		"bad aud":     `{"active":true,"aud":[1]}`,
		"bad scope":   `{"active":true,"scope":["a"]}`,
		"null":        `null`,
		"too big":     `{"active":true,"x":"` + strings.Repeat("a", maxResponse) + `"}`,
		"redirect":    "",
		"active str":  `{"active":"true"}`,
		"huge number": `{"active":true,"exp":1e300}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if name == "redirect" {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
				return
			}
			w.Write([]byte(body))
		}))
		b, err := New(Config{Endpoint: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.Authenticate(bearer("tok"))
		var e *identity.Error
		if !errors.As(err, &e) || e.Status != 503 {
			t.Errorf("%s: err = %v, want 503", name, err)
		}
		srv.Close()
	}

	p.Close()
	_, err = a.Authenticate(bearer("other"))
	refusal(t, err, 503)
}

func TestConcurrentMissesShareOneCall(t *testing.T) {
	p := newIDP(t)
	p.set("tok", map[string]any{"active": true, "sub": "alice"})
	block := make(chan struct{})
	p.configure(200, block)
	a, _ := newAuth(t, p, Config{})
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := a.Authenticate(bearer("tok"))
			errs <- err
		}()
	}
	// Wait until every goroutine is inside the single flight (one making
	// the call, the rest waiting for it) before letting the call finish.
	deadline := time.Now().Add(10 * time.Second)
	for inFlight() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests reached the flight", inFlight(), n)
		}
		runtime.Gosched()
	}
	close(block)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if p.calls.Load() != 1 {
		t.Fatalf("%d calls for %d concurrent requests, want 1", p.calls.Load(), n)
	}
}

// inFlight counts goroutines inside singleflight.Group.Do.
func inFlight() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "singleflight.(*Group).Do(")
}

func TestClaimChecks(t *testing.T) {
	p := newIDP(t)
	p.set("good", map[string]any{"active": true, "sub": "alice", "scope": "read write", "aud": []any{"x", "api"}, "iss": "https://idp"})
	p.set("noscope", map[string]any{"active": true, "sub": "alice", "scope": "read", "aud": "api", "iss": "https://idp"})
	p.set("wrongaud", map[string]any{"active": true, "sub": "alice", "scope": "read write", "aud": "other", "iss": "https://idp"})
	p.set("noaud", map[string]any{"active": true, "sub": "alice", "scope": "read write", "iss": "https://idp"})
	p.set("wrongiss", map[string]any{"active": true, "sub": "alice", "scope": "read write", "aud": "api", "iss": "https://evil"})
	p.set("future", map[string]any{"active": true, "sub": "alice", "scope": "read write", "aud": "api", "iss": "https://idp", "nbf": float64(t0.Unix() + 60)})
	p.set("expired", map[string]any{"active": true, "sub": "alice", "scope": "read write", "aud": "api", "iss": "https://idp", "exp": float64(t0.Unix() - 1)})
	a, _ := newAuth(t, p, Config{RequiredScopes: []string{"read", "write"}, Audiences: []string{"api"}, Issuer: "https://idp", Realm: "api"})

	if _, err := a.Authenticate(bearer("good")); err != nil {
		t.Fatalf("good: %v", err)
	}
	_, err := a.Authenticate(bearer("noscope"))
	e := refusal(t, err, 403)
	if e.Challenge != `Bearer realm="api", error="insufficient_scope", scope="read write"` {
		t.Errorf("challenge %q", e.Challenge)
	}
	for _, tok := range []string{"wrongaud", "noaud", "wrongiss", "future", "expired"} {
		_, err := a.Authenticate(bearer(tok))
		var e *identity.Error
		if !errors.As(err, &e) || e.Status != 401 {
			t.Errorf("%s: err = %v, want 401", tok, err)
		}
	}
}

func TestConsumerMapping(t *testing.T) {
	p := newIDP(t)
	p.set("user", map[string]any{"active": true, "username": "alice", "client_id": "svc-ci"})
	p.set("client", map[string]any{"active": true, "client_id": "svc-ci"})
	p.set("unknown", map[string]any{"active": true, "sub": "zed"})
	a, _ := newAuth(t, p, Config{})
	for tok, want := range map[string]string{"user": "alice", "client": "svc-ci", "unknown": ""} {
		id, err := a.Authenticate(bearer(tok))
		if err != nil {
			t.Fatal(err)
		}
		if got := id.Consumer; want == "" && got != nil || want != "" && (got == nil || got.Name != want) {
			t.Errorf("%s: consumer %v, want %q", tok, got, want)
		}
	}
	b, _ := newAuth(t, p, Config{ConsumerField: "client_id"})
	id, err := b.Authenticate(bearer("user"))
	if err != nil || id.Consumer == nil || id.Consumer.Name != "svc-ci" || id.Subject != "alice" {
		t.Errorf("ConsumerField: %+v %v", id, err)
	}
}

func TestTokenSources(t *testing.T) {
	p := newIDP(t)
	p.set("tok", map[string]any{"active": true, "sub": "alice"})
	a, _ := newAuth(t, p, Config{})
	for _, h := range []string{"", "Basic YTpi"} {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if _, err := a.Authenticate(r); err != identity.ErrNoCredentials {
			t.Errorf("%q: %v, want ErrNoCredentials", h, err)
		}
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer ")
	_, err := a.Authenticate(r)
	refusal(t, err, 401)
	_, err = a.Authenticate(bearer(strings.Repeat("a", maxToken+1)))
	refusal(t, err, 401)
	r = bearer("tok")
	r.Header.Set("Authorization", "bearer tok")
	if _, err := a.Authenticate(r); err != nil {
		t.Errorf("lower-case scheme: %v", err)
	}

	b, _ := newAuth(t, p, Config{Header: "x-token", Query: "access_token", Cookie: "session"})
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Token", "Bearer tok")
	if _, err := b.Authenticate(r); err != nil || r.Header.Get("X-Token") != "" {
		t.Errorf("header: %v, left %q", err, r.Header.Get("X-Token"))
	}
	r = httptest.NewRequest("GET", "/p?a=1&access_token=tok", nil)
	if _, err := b.Authenticate(r); err != nil || r.URL.RawQuery != "a=1" {
		t.Errorf("query: %v, left %q", err, r.URL.RawQuery)
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "theme=dark; session=tok; lang=en")
	if _, err := b.Authenticate(r); err != nil || r.Header.Get("Cookie") != "theme=dark; lang=en" {
		t.Errorf("cookie: %v, left %q", err, r.Header.Get("Cookie"))
	}
	r = httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer tok") // not the configured header
	if _, err := b.Authenticate(r); err != identity.ErrNoCredentials {
		t.Errorf("Authorization used though another header is configured: %v", err)
	}
	c, _ := newAuth(t, p, Config{Query: "access_token"})
	r = httptest.NewRequest("GET", "/?access_token=tok", nil)
	r.Header.Set("Authorization", "Bearer tok")
	if _, err := c.Authenticate(r); err != nil || r.Header.Get("Authorization") != "" || r.URL.RawQuery != "access_token=tok" {
		t.Errorf("header first when a query is also configured: %v", err)
	}
	r = httptest.NewRequest("GET", "/?access_token=tok", nil)
	r.Header.Set("Authorization", "Basic YTpi")
	if _, err := c.Authenticate(r); err != nil || r.Header.Get("Authorization") == "" {
		t.Errorf("query token with Basic Authorization: %v", err)
	}
}

func TestCacheBounded(t *testing.T) {
	c := credential.NewCache[[32]byte, *result](16)
	res := &result{active: true}
	for i := range 1000 {
		c.Put([32]byte{byte(i), byte(i >> 8)}, res, t0.Add(time.Hour), t0)
		if c.Len() > 16 {
			t.Fatalf("cache grew to %d", c.Len())
		}
	}
	if _, ok := c.Get([32]byte{byte(999 & 0xff), byte(999 >> 8)}, t0); !ok {
		t.Error("newest entry evicted")
	}
	if _, ok := c.Get([32]byte{byte(999 & 0xff), byte(999 >> 8)}, t0.Add(time.Hour)); ok {
		t.Error("expired entry returned")
	}
}

func TestNewErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no endpoint":  {},
		"ftp endpoint": {Endpoint: "ftp://idp/introspect"},
		"relative":     {Endpoint: "/introspect"},
		"bad timeout":  {Endpoint: "https://idp", Timeout: -1},
		"bad size":     {Endpoint: "https://idp", CacheSize: -1},
		"bad scope":    {Endpoint: "https://idp", RequiredScopes: []string{`a"b`}},
		"bad realm":    {Endpoint: "https://idp", Realm: "a\nb"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	client := &http.Client{}
	if _, err := New(Config{Endpoint: "https://idp", HTTPClient: client}); err != nil || client.CheckRedirect != nil {
		t.Errorf("caller's client modified (%v)", err)
	}
}

func FuzzParseResponse(f *testing.F) {
	f.Add(`{"active":true,"sub":"a","scope":"x y","exp":1.5,"aud":["a"]}`)
	f.Add(`{"active":false}`)
	f.Add(`[]`)
	a := &Authenticator{consumers: consumers}
	f.Fuzz(func(t *testing.T, body string) {
		res, err := a.parseResponse([]byte(body))
		if err == nil && res == nil {
			t.Fatal("nil result without error")
		}
	})
}

func BenchmarkAuthenticateCached(b *testing.B) {
	p := newIDP(b)
	p.set("tok", map[string]any{"active": true, "sub": "alice", "scope": "read write"})
	a, _ := newAuth(b, p, Config{KeepAuthorization: true, RequiredScopes: []string{"read"}})
	r := bearer("tok")
	if _, err := a.Authenticate(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
