package apikey

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
)

const staticKeyText = "gh_static-key-for-alice"

var consumers = identity.Consumers{
	"alice": {Name: "alice", Groups: []string{"admins", "ops"}},
	"bob":   {Name: "bob"},
}

func newAuth(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	if cfg.Consumers == nil {
		cfg.Consumers = consumers
	}
	if cfg.Static == nil {
		cfg.Static = map[[32]byte]string{keystore.HashKey(staticKeyText): "alice"}
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func request(target string, header ...string) *http.Request {
	r := httptest.NewRequest("GET", target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

func wantStatus(t *testing.T, err error, status int) *identity.Error {
	t.Helper()
	var e *identity.Error
	if !errors.As(err, &e) || e.Status != status {
		t.Fatalf("err = %v, want a %d *identity.Error", err, status)
	}
	return e
}

func TestStaticKeyIdentity(t *testing.T) {
	a := newAuth(t, Config{})
	id, err := a.Authenticate(request("/", "X-Api-Key", staticKeyText))
	if err != nil {
		t.Fatal(err)
	}
	want := &identity.Identity{Method: "api_key", Subject: "alice", Consumer: consumers["alice"], Groups: []string{"admins", "ops"}}
	if !reflect.DeepEqual(id, want) {
		t.Fatalf("identity = %+v, want %+v", id, want)
	}
	if id.Consumer != consumers["alice"] {
		t.Fatal("identity does not point at the configured consumer")
	}
}

func TestIdentityGroupsDoNotAliasConsumer(t *testing.T) {
	groups := make([]string, 1, 4) // spare capacity an append could reuse
	groups[0] = "admins"
	c := &identity.Consumer{Name: "dave", Groups: groups}
	a := newAuth(t, Config{
		Consumers: identity.Consumers{"dave": c},
		Static:    map[[32]byte]string{keystore.HashKey("gh_dave"): "dave"},
	})
	id, err := a.Authenticate(request("/", "X-Api-Key", "gh_dave"))
	if err != nil {
		t.Fatal(err)
	}
	_ = append(id.Groups, "extra")
	if got := groups[:2][1]; got != "" {
		t.Fatalf("append to Identity.Groups wrote %q into the consumer's array", got)
	}
}

func TestNoCredentials(t *testing.T) {
	a := newAuth(t, Config{Header: "X-Api-Key", Query: "apikey", Cookie: "apikey"})
	for _, r := range []*http.Request{
		request("/"),
		request("/", "X-Api-Key", ""),
		request("/?apikey="),
		request("/?other=1", "Cookie", "apikey="),
		request("/", "Authorization", "Bearer "+staticKeyText),
	} {
		if _, err := a.Authenticate(r); err != identity.ErrNoCredentials {
			t.Errorf("%s %v: err = %v, want ErrNoCredentials", r.URL, r.Header, err)
		}
	}
}

func TestDefaultHeaderOnlyWhenNothingConfigured(t *testing.T) {
	a := newAuth(t, Config{Query: "apikey"})
	if _, err := a.Authenticate(request("/", "X-Api-Key", staticKeyText)); err != identity.ErrNoCredentials {
		t.Fatalf("header used although only a query parameter is configured: %v", err)
	}
	if _, err := a.Authenticate(request("/?apikey=" + staticKeyText)); err != nil {
		t.Fatal(err)
	}
}

func TestHeaderNameIsCaseInsensitive(t *testing.T) {
	a := newAuth(t, Config{Header: "x-custom-key"})
	if _, err := a.Authenticate(request("/", "X-CUSTOM-KEY", staticKeyText)); err != nil {
		t.Fatal(err)
	}
}

func TestQueryAndCookie(t *testing.T) {
	a := newAuth(t, Config{Query: "api_key", Cookie: "session_key"})
	for _, r := range []*http.Request{
		request("/?a=1&api_key=" + url.QueryEscape(staticKeyText)),
		request("/?api%5Fkey=" + staticKeyText),
		request("/", "Cookie", "x=1; session_key="+staticKeyText),
	} {
		if _, err := a.Authenticate(r); err != nil {
			t.Errorf("%s %v: %v", r.URL, r.Header, err)
		}
	}
}

func TestUnknownKey(t *testing.T) {
	a := newAuth(t, Config{Realm: `my "api"`})
	e := wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", "gh_nope"))), 401)
	if e.Challenge != `ApiKey realm="my \"api\""` || a.Challenge() != e.Challenge {
		t.Fatalf("challenge %q / %q", e.Challenge, a.Challenge())
	}
	if e.Detail != "invalid API key" {
		t.Fatalf("detail %q", e.Detail)
	}
}

func TestDefaultChallenge(t *testing.T) {
	if got := newAuth(t, Config{}).Challenge(); got != `ApiKey realm="gatehouse"` {
		t.Fatalf("challenge %q", got)
	}
}

func mustFail(_ *identity.Identity, err error) error { return err }

func TestOverlongKeyRefusedBeforeStore(t *testing.T) {
	st := &fakeStore{}
	a := newAuth(t, Config{Store: st})
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", strings.Repeat("k", MaxKeyLen+1)))), 401)
	if st.calls != 0 {
		t.Fatal("over-long key sent to the store")
	}
	// At the bound it is looked up normally.
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", strings.Repeat("k", MaxKeyLen)))), 401)
	if st.calls != 1 {
		t.Fatalf("store calls = %d, want 1", st.calls)
	}
}

func TestHashKeyMatchesKeystore(t *testing.T) {
	for _, k := range []string{"", "a", staticKeyText, strings.Repeat("x", MaxKeyLen)} {
		if hashKey(k) != keystore.HashKey(k) {
			t.Fatalf("hashKey(%q) differs from keystore.HashKey", k)
		}
	}
}

func openBolt(t testing.TB) *keystore.Bolt {
	s, err := keystore.OpenBolt(filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreKey(t *testing.T) {
	st := openBolt(t)
	a := newAuth(t, Config{Store: st})
	ctx := context.Background()
	plain, k, err := st.Issue(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	id, err := a.Authenticate(request("/", "X-Api-Key", plain))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "bob" || id.Consumer != consumers["bob"] || id.Method != "api_key" || id.Claims != nil {
		t.Fatalf("identity = %+v", id)
	}
	// Static keys still work alongside the store.
	if _, err := a.Authenticate(request("/", "X-Api-Key", staticKeyText)); err != nil {
		t.Fatal(err)
	}
	if err := st.Revoke(ctx, "bob", k.ID); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", plain))), 401)
}

func TestStoreKeyOfUnconfiguredConsumer(t *testing.T) {
	st := openBolt(t)
	plain, _, err := st.Issue(context.Background(), "carol") // not in consumers
	if err != nil {
		t.Fatal(err)
	}
	a := newAuth(t, Config{Store: st})
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", plain))), 401)
}

// fakeStore is a Store whose Lookup is scripted.
type fakeStore struct {
	keystore.Store
	calls  int
	lookup func(ctx context.Context, h [32]byte) (keystore.Key, bool, error)
}

func (f *fakeStore) Lookup(ctx context.Context, h [32]byte) (keystore.Key, bool, error) {
	f.calls++
	if f.lookup == nil {
		return keystore.Key{}, false, nil
	}
	return f.lookup(ctx, h)
}

func TestStoreErrorFailsClosed(t *testing.T) {
	st := &fakeStore{lookup: func(context.Context, [32]byte) (keystore.Key, bool, error) {
		return keystore.Key{}, false, errors.New("connection refused")
	}}
	a := newAuth(t, Config{Store: st})
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", "gh_whatever"))), 503)
	// A static key does not need the store.
	if _, err := a.Authenticate(request("/", "X-Api-Key", staticKeyText)); err != nil {
		t.Fatal(err)
	}
}

func TestStoreTimeout(t *testing.T) {
	// The deadline is set between start and the lookup's own clock
	// reading, so it must lie within [start, called] + 50ms: exact however
	// long the scheduler keeps us between the two.
	var deadline, called time.Time
	st := &fakeStore{lookup: func(ctx context.Context, _ [32]byte) (keystore.Key, bool, error) {
		called = time.Now()
		deadline, _ = ctx.Deadline()
		<-ctx.Done()
		return keystore.Key{}, false, ctx.Err()
	}}
	a := newAuth(t, Config{Store: st, StoreTimeout: 50 * time.Millisecond})
	start := time.Now()
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", "gh_whatever"))), 503)
	if deadline.Before(start.Add(50*time.Millisecond)) || deadline.After(called.Add(50*time.Millisecond)) {
		t.Fatalf("store deadline %v after start (lookup began %v after start), want 50ms after the lookup's context was made", deadline.Sub(start), called.Sub(start))
	}
}

func TestDefaultStoreTimeout(t *testing.T) {
	var deadline, called time.Time
	st := &fakeStore{lookup: func(ctx context.Context, _ [32]byte) (keystore.Key, bool, error) {
		called = time.Now()
		deadline, _ = ctx.Deadline()
		return keystore.Key{}, false, nil
	}}
	a := newAuth(t, Config{Store: st})
	start := time.Now()
	a.Authenticate(request("/", "X-Api-Key", "gh_whatever"))
	if deadline.Before(start.Add(100*time.Millisecond)) || deadline.After(called.Add(100*time.Millisecond)) {
		t.Fatalf("default store deadline %v after start (lookup began %v after start), want 100ms", deadline.Sub(start), called.Sub(start))
	}
}

// memStore is a fakeStore marked keystore.InMemory.
type memStore struct{ fakeStore }

func (*memStore) LookupInMemory() {}

func TestInMemoryStoreGetsNoDeadline(t *testing.T) {
	hasDeadline := true
	st := &memStore{fakeStore{lookup: func(ctx context.Context, _ [32]byte) (keystore.Key, bool, error) {
		_, hasDeadline = ctx.Deadline()
		return keystore.Key{}, false, nil
	}}}
	a := newAuth(t, Config{Store: st})
	a.Authenticate(request("/", "X-Api-Key", "gh_whatever"))
	if st.calls != 1 || hasDeadline {
		t.Fatalf("calls=%d deadline=%v, want one call without deadline", st.calls, hasDeadline)
	}
}

// A store returning a key whose hash is not the one asked for (a buggy
// store or cache) must not authenticate.
func TestStoreHashMismatchRefused(t *testing.T) {
	st := &fakeStore{lookup: func(context.Context, [32]byte) (keystore.Key, bool, error) {
		return keystore.Key{Consumer: "bob", Hash: keystore.HashKey("other")}, true, nil
	}}
	a := newAuth(t, Config{Store: st})
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", "gh_whatever"))), 401)
}

func TestHideCredentials(t *testing.T) {
	a := newAuth(t, Config{Header: "X-Api-Key", Query: "api_key", Cookie: "k", HideCredentials: true})

	r := request("/", "X-Api-Key", staticKeyText, "X-Api-Key", "second", "X-Other", "1")
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Header["X-Api-Key"]; ok || r.Header.Get("X-Other") != "1" {
		t.Fatalf("header after hiding: %v", r.Header)
	}

	r = request("/p?a=1&api_key=" + staticKeyText + "&b=%2F&api%5Fkey=dup&api_key=%zz&c")
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if r.URL.RawQuery != "a=1&b=%2F&c" {
		t.Fatalf("query after hiding: %q", r.URL.RawQuery)
	}

	r = request("/", "Cookie", "a=1; k="+staticKeyText+"; b=2", "Cookie", "k=dup")
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if got := r.Header["Cookie"]; len(got) != 1 || got[0] != "a=1; b=2" {
		t.Fatalf("cookies after hiding: %q", got)
	}
}

func TestNoHideKeepsCredentials(t *testing.T) {
	a := newAuth(t, Config{Query: "api_key"})
	r := request("/?api_key=" + staticKeyText)
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if r.URL.RawQuery != "api_key="+staticKeyText {
		t.Fatalf("query changed without HideCredentials: %q", r.URL.RawQuery)
	}
}

func TestFailedRequestKeepsCredentials(t *testing.T) {
	a := newAuth(t, Config{HideCredentials: true})
	r := request("/", "X-Api-Key", "gh_wrong")
	a.Authenticate(r)
	if r.Header.Get("X-Api-Key") != "gh_wrong" {
		t.Fatal("refused request modified")
	}
}

func TestNewErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"unknown consumer": {Static: map[[32]byte]string{{1}: "nobody"}, Consumers: consumers},
		"bad header":       {Header: "X Api Key"},
		"bad cookie":       {Cookie: "a;b"},
		"negative timeout": {StoreTimeout: -time.Second},
		"realm with CRLF":  {Realm: "a\r\nX-Evil: 1"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
