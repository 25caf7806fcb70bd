package cache

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

func TestHitMissAndAge(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	up := &upstream{handler: fixed(200, "hello", "Cache-Control", "max-age=60", "Age", "5", "Content-Type", "text/plain")}
	h := c.Wrap(up)
	rec := do(h, req("GET", "/a"))
	expect(t, rec, 200, Miss, "hello")
	if rec.Header().Get("Age") != "5" {
		t.Fatalf("MISS should pass the upstream Age, got %q", rec.Header().Get("Age"))
	}
	clk.Add(10 * time.Second)
	rec = do(h, req("GET", "/a"))
	expect(t, rec, 200, Hit, "hello")
	if got := rec.Header().Get("Age"); got != "15" {
		t.Fatalf("Age = %q, want 15 (5 upstream + 10 stored)", got)
	}
	if rec.Header().Get("Content-Type") != "text/plain" || rec.Header().Get("Content-Length") != "5" {
		t.Fatalf("stored headers not served: %v", rec.Header())
	}
	if up.calls.Load() != 1 {
		t.Fatalf("upstream calls = %d", up.calls.Load())
	}
	// Age counts against max-age: 5+55 = 60 is stale.
	clk.Add(45 * time.Second)
	expect(t, do(h, req("GET", "/a")), 200, Miss, "hello")
}

func TestHeadServedFromGetEntry(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	up := &upstream{handler: fixed(200, "body", "Cache-Control", "max-age=60")}
	h := c.Wrap(up)
	// A HEAD miss passes through and does not store a body-less entry.
	expect(t, do(h, req("HEAD", "/x")), 200, Miss, "body") // recorder keeps what next wrote
	expect(t, do(h, req("GET", "/x")), 200, Miss, "body")
	rec := do(h, req("HEAD", "/x"))
	expect(t, rec, 200, Hit, "")
	if rec.Header().Get("Content-Length") != "4" {
		t.Fatalf("HEAD hit Content-Length = %q", rec.Header().Get("Content-Length"))
	}
	if up.calls.Load() != 2 {
		t.Fatalf("calls = %d", up.calls.Load())
	}
}

func TestKey(t *testing.T) {
	c, _ := newTestCache(t, Config{Namespace: "ns:", KeyHeaders: []string{"x-tenant"}, KeyConsumer: true})
	k := func(r *http.Request) string { return c.Key(r) }
	base := k(req("GET", "http://Example.COM:8080/p?b=2&a=1&a=0"))
	if want := "ns:/p?a=1&a=0&b=2 example.com GET h:x-tenant="; base != want {
		t.Fatalf("key = %q, want %q", base, want)
	}
	same := []*http.Request{
		req("HEAD", "http://example.com/p?b=2&a=1&a=0"),
		req("GET", "http://example.com/p?a=1&b=2&a=0"),
		req("GET", "http://example.com/p?%61=1&a=0&&b=%32"),
	}
	for i, r := range same {
		if got := k(r); got != base {
			t.Errorf("#%d key %q, want %q", i, got, base)
		}
	}
	differ := []*http.Request{
		req("GET", "http://example.com/p?a=0&a=1&b=2"), // repeated values keep their order
		req("GET", "http://other.com/p?b=2&a=1&a=0"),
		req("GET", "http://example.com/q?b=2&a=1&a=0"),
		req("GET", "http://example.com/p?b=2&a=1&a=0", "X-Tenant", "t1"),
	}
	for i, r := range differ {
		if got := k(r); got == base {
			t.Errorf("#%d should differ: %q", i, got)
		}
	}
	// reqinfo's normalised path wins over the raw URL.
	r := req("GET", "http://example.com/raw/../p?b=2&a=1&a=0")
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Path: "/p"}))
	if got := k(r); got != base {
		t.Errorf("reqinfo path: %q, want %q", got, base)
	}
	// The consumer is part of the key when KeyConsumer.
	r = req("GET", "http://example.com/p?b=2&a=1&a=0")
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Path: "/p", Identity: &identity.Identity{Subject: "al ice"}}))
	if got, want := k(r), base+" c:al+ice"; got != want {
		t.Errorf("consumer key %q, want %q", got, want)
	}
	// A space in a header value cannot forge a field.
	r = req("GET", "http://example.com/p?b=2&a=1&a=0", "X-Tenant", "x c:bob")
	if strings.Count(k(r), " ") != strings.Count(base, " ") {
		t.Errorf("unescaped header value in key %q", k(r))
	}
}

func TestKeyHeadersSeparateEntries(t *testing.T) {
	c, _ := newTestCache(t, Config{KeyHeaders: []string{"X-Tenant"}})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.Header.Get("X-Tenant"))
	}}
	h := c.Wrap(up)
	expect(t, do(h, req("GET", "/t", "X-Tenant", "a")), 200, Miss, "a")
	expect(t, do(h, req("GET", "/t", "X-Tenant", "b")), 200, Miss, "b")
	expect(t, do(h, req("GET", "/t", "X-Tenant", "a")), 200, Hit, "a")
}

func TestVary(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Encoding")
		io.WriteString(w, "enc="+r.Header.Get("Accept-Encoding"))
	}}
	h := c.Wrap(up)
	expect(t, do(h, req("GET", "/v", "Accept-Encoding", "gzip")), 200, Miss, "enc=gzip")
	expect(t, do(h, req("GET", "/v", "Accept-Encoding", "br")), 200, Miss, "enc=br")
	expect(t, do(h, req("GET", "/v", "Accept-Encoding", "gzip")), 200, Hit, "enc=gzip")
	expect(t, do(h, req("GET", "/v", "Accept-Encoding", "br")), 200, Hit, "enc=br")
	expect(t, do(h, req("GET", "/v")), 200, Miss, "enc=")
	if up.calls.Load() != 3 {
		t.Fatalf("calls = %d", up.calls.Load())
	}
	// Purge by the primary key removes every variant.
	if err := c.Purge(context.Background(), c.Key(req("GET", "/v"))); err != nil {
		t.Fatal(err)
	}
	expect(t, do(h, req("GET", "/v", "Accept-Encoding", "br")), 200, Miss, "enc=br")
}

func TestNotStored(t *testing.T) {
	cases := map[string][]string{
		"no-store":    {"Cache-Control", "max-age=60, no-store"},
		"private":     {"Cache-Control", "private, max-age=60"},
		"set-cookie":  {"Cache-Control", "max-age=60", "Set-Cookie", "s=1"},
		"vary star":   {"Cache-Control", "max-age=60", "Vary", "*"},
		"no lifetime": {},
		"max-age=0":   {"Cache-Control", "max-age=0"},
		"expired":     {"Expires", "0"},
	}
	for name, kv := range cases {
		t.Run(name, func(t *testing.T) {
			c, _ := newTestCache(t, Config{})
			up := &upstream{handler: fixed(200, "x", kv...)}
			h := c.Wrap(up)
			expect(t, do(h, req("GET", "/n")), 200, Miss, "x")
			expect(t, do(h, req("GET", "/n")), 200, Miss, "x")
			if up.calls.Load() != 2 {
				t.Fatalf("calls = %d", up.calls.Load())
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	for _, tc := range []struct {
		status int
		cached bool
	}{{404, true}, {410, true}, {500, false}, {201, false}, {206, false}} {
		c, _ := newTestCache(t, Config{TTL: time.Minute})
		up := &upstream{handler: fixed(tc.status, "x")}
		h := c.Wrap(up)
		do(h, req("GET", "/s"))
		rec := do(h, req("GET", "/s"))
		if got := rec.Header().Get("X-Cache") == Hit; got != tc.cached {
			t.Errorf("status %d cached = %v", tc.status, got)
		}
	}
}

func TestLifetimes(t *testing.T) {
	date := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name   string
		cfg    Config
		kv     []string
		hitAt  time.Duration // still a hit
		missAt time.Duration // stale by then
	}{
		{"s-maxage wins", Config{}, []string{"Cache-Control", "max-age=10, s-maxage=100"}, 50 * time.Second, 101 * time.Second},
		{"expires minus date", Config{}, []string{"Date", date.Add(-time.Hour).Format(http.TimeFormat), "Expires", date.Add(-time.Hour + 30*time.Second).Format(http.TimeFormat)}, 29 * time.Second, 31 * time.Second},
		{"default ttl", Config{TTL: 20 * time.Second}, nil, 19 * time.Second, 21 * time.Second},
		{"max-age beats ttl", Config{TTL: 20 * time.Second}, []string{"Cache-Control", "max-age=5"}, 4 * time.Second, 6 * time.Second},
		{"override ttl", Config{TTL: 20 * time.Second, OverrideTTL: true}, []string{"Cache-Control", "max-age=5"}, 19 * time.Second, 21 * time.Second},
		{"override beats no-cache", Config{TTL: 20 * time.Second, OverrideTTL: true}, []string{"Cache-Control", "no-cache, max-age=0"}, 19 * time.Second, 21 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, clk := newTestCache(t, tc.cfg)
			h := c.Wrap(&upstream{handler: fixed(200, "x", tc.kv...)})
			expect(t, do(h, req("GET", "/l")), 200, Miss, "x")
			clk.Add(tc.hitAt)
			expect(t, do(h, req("GET", "/l")), 200, Hit, "x")
			clk.Add(tc.missAt - tc.hitAt)
			if got := do(h, req("GET", "/l")).Header().Get("X-Cache"); got == Hit {
				t.Fatalf("still HIT after %v", tc.missAt)
			}
		})
	}
	// OverrideTTL never stores no-store or private.
	c, _ := newTestCache(t, Config{TTL: time.Minute, OverrideTTL: true})
	up := &upstream{handler: fixed(200, "x", "Cache-Control", "private")}
	do(c.Wrap(up), req("GET", "/p"))
	expect(t, do(c.Wrap(up), req("GET", "/p")), 200, Miss, "x")
}

// etagUpstream serves body with an ETag and answers If-None-Match with 304.
func etagUpstream(cc string, body *string, etag string) *upstream {
	return &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, *body)
	}}
}

func TestRevalidation(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	body := "v1"
	up := etagUpstream("max-age=10", &body, `"e1"`)
	h := c.Wrap(up)
	expect(t, do(h, req("GET", "/r")), 200, Miss, "v1")
	clk.Add(11 * time.Second)
	rec := do(h, req("GET", "/r"))
	expect(t, rec, 200, Revalidated, "v1")
	if rec.Header().Get("Age") != "0" {
		t.Fatalf("revalidated Age = %q", rec.Header().Get("Age"))
	}
	// The 304 refreshed the entry: fresh again.
	clk.Add(5 * time.Second)
	expect(t, do(h, req("GET", "/r")), 200, Hit, "v1")
	if up.calls.Load() != 2 {
		t.Fatalf("calls = %d", up.calls.Load())
	}
	// A changed resource replaces the entry.
	clk.Add(11 * time.Second)
	body = "v2"
	up.handler = fixed(200, "v2", "Cache-Control", "max-age=10", "ETag", `"e2"`)
	expect(t, do(h, req("GET", "/r")), 200, Miss, "v2")
	expect(t, do(h, req("GET", "/r")), 200, Hit, "v2")
}

func TestRevalidationLastModified(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	lm := "Mon, 01 Jan 2024 00:00:00 GMT"
	var sawIMS string
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		sawIMS = r.Header.Get("If-Modified-Since")
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Last-Modified", lm)
		if sawIMS == lm {
			w.WriteHeader(304)
			return
		}
		io.WriteString(w, "x")
	}}
	h := c.Wrap(up)
	do(h, req("GET", "/lm"))
	clk.Add(11 * time.Second)
	expect(t, do(h, req("GET", "/lm")), 200, Revalidated, "x")
	if sawIMS != lm {
		t.Fatalf("If-Modified-Since sent = %q", sawIMS)
	}
}

func TestNoCacheResponseRevalidatedEveryTime(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	body := "nc"
	up := etagUpstream("no-cache, max-age=60", &body, `"n"`)
	h := c.Wrap(up)
	expect(t, do(h, req("GET", "/nc")), 200, Miss, "nc")
	expect(t, do(h, req("GET", "/nc")), 200, Revalidated, "nc")
	expect(t, do(h, req("GET", "/nc")), 200, Revalidated, "nc")
	if up.calls.Load() != 3 {
		t.Fatalf("calls = %d", up.calls.Load())
	}
}

func TestRequestCacheControl(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	body := "b"
	up := etagUpstream("max-age=60", &body, `"t"`)
	h := c.Wrap(up)
	expect(t, do(h, req("GET", "/q")), 200, Miss, "b")
	expect(t, do(h, req("GET", "/q", "Cache-Control", "no-store")), 200, Bypass, "b")
	if up.calls.Load() != 2 {
		t.Fatalf("no-store should go upstream: %d", up.calls.Load())
	}
	for _, v := range [][]string{{"Cache-Control", "no-cache"}, {"Cache-Control", "max-age=0"}, {"Pragma", "no-cache"}} {
		n := up.calls.Load()
		expect(t, do(h, req("GET", "/q", v...)), 200, Revalidated, "b")
		if up.calls.Load() != n+1 {
			t.Fatalf("%v did not revalidate", v)
		}
	}
	expect(t, do(h, req("GET", "/q")), 200, Hit, "b")
	// only-if-cached on a miss: 504 without going upstream.
	n := up.calls.Load()
	rec := do(h, req("GET", "/other", "Cache-Control", "only-if-cached"))
	if rec.Code != http.StatusGatewayTimeout || up.calls.Load() != n {
		t.Fatalf("only-if-cached: %d, calls %d→%d", rec.Code, n, up.calls.Load())
	}
}

func TestClientConditional(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	lm := "Mon, 01 Jan 2024 00:00:00 GMT"
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
			t.Error("client conditionals must not reach the upstream on a miss")
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `W/"abc"`)
		w.Header().Set("Last-Modified", lm)
		io.WriteString(w, "full")
	}}
	h := c.Wrap(up)
	// On a miss the full response is stored and the client still gets 304.
	expect(t, do(h, req("GET", "/c", "If-None-Match", `"abc"`)), 304, Miss, "")
	expect(t, do(h, req("GET", "/c")), 200, Hit, "full")
	expect(t, do(h, req("GET", "/c", "If-None-Match", `"x", "abc"`)), 304, Hit, "")
	expect(t, do(h, req("GET", "/c", "If-None-Match", `"other"`)), 200, Hit, "full")
	expect(t, do(h, req("GET", "/c", "If-None-Match", `*`)), 304, Hit, "")
	expect(t, do(h, req("GET", "/c", "If-Modified-Since", lm)), 304, Hit, "")
	expect(t, do(h, req("GET", "/c", "If-Modified-Since", "Sun, 31 Dec 2023 00:00:00 GMT")), 200, Hit, "full")
	// If-None-Match takes precedence over If-Modified-Since.
	expect(t, do(h, req("GET", "/c", "If-None-Match", `"other"`, "If-Modified-Since", lm)), 200, Hit, "full")
	if up.calls.Load() != 1 {
		t.Fatalf("calls = %d", up.calls.Load())
	}
}

func TestStaleWhileRevalidate(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	var mu sync.Mutex
	version := 1
	release := make(chan struct{})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		v := version
		mu.Unlock()
		if v > 1 {
			<-release // hold the background refresh so the second stale request finds it running
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=30")
		io.WriteString(w, "v"+strconv.Itoa(v))
	}}
	h := c.Wrap(up)
	expect(t, do(h, req("GET", "/s")), 200, Miss, "v1")
	clk.Add(15 * time.Second)
	mu.Lock()
	version = 2
	mu.Unlock()
	expect(t, do(h, req("GET", "/s")), 200, Stale, "v1")
	expect(t, do(h, req("GET", "/s")), 200, Stale, "v1") // refresh already running: not started twice
	close(release)
	c.bg.Wait()
	if up.calls.Load() != 2 {
		t.Fatalf("calls = %d, want 2 (one background refresh)", up.calls.Load())
	}
	expect(t, do(h, req("GET", "/s")), 200, Hit, "v2")
	// Past the window: a blocking fetch.
	clk.Add(50 * time.Second)
	expect(t, do(h, req("GET", "/s")), 200, Miss, "v2")
}

func TestStaleWhileRevalidateFromConfigAndMustRevalidate(t *testing.T) {
	c, clk := newTestCache(t, Config{StaleWhileRevalidate: time.Minute})
	up := &upstream{handler: fixed(200, "x", "Cache-Control", "max-age=10")}
	h := c.Wrap(up)
	do(h, req("GET", "/a"))
	clk.Add(20 * time.Second)
	expect(t, do(h, req("GET", "/a")), 200, Stale, "x")
	c.bg.Wait()

	up2 := &upstream{handler: fixed(200, "y", "Cache-Control", "max-age=10, must-revalidate")}
	h2 := c.Wrap(up2)
	do(h2, req("GET", "/b"))
	clk.Add(20 * time.Second)
	expect(t, do(h2, req("GET", "/b")), 200, Miss, "y")
}

func TestStaleIfError(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504} {
		c, clk := newTestCache(t, Config{})
		up := &upstream{handler: fixed(200, "good", "Cache-Control", "max-age=10, stale-if-error=60", "X-Up", "1")}
		h := c.Wrap(up)
		expect(t, do(h, req("GET", "/e")), 200, Miss, "good")
		clk.Add(20 * time.Second)
		up.handler = fixed(status, "bad", "X-Bad", "1")
		rec := do(h, req("GET", "/e"))
		expect(t, rec, 200, Stale, "good")
		if rec.Header().Get("X-Bad") != "" || rec.Header().Get("X-Up") != "1" {
			t.Fatalf("stale response mixes headers: %v", rec.Header())
		}
		// Outside the window the error passes through.
		clk.Add(60 * time.Second)
		expect(t, do(h, req("GET", "/e")), status, Miss, "bad")
	}
	// A 404 is not an upstream failure: it replaces nothing and is served.
	c, clk := newTestCache(t, Config{StaleIfError: time.Minute})
	up := &upstream{handler: fixed(200, "good", "Cache-Control", "max-age=10")}
	h := c.Wrap(up)
	do(h, req("GET", "/e"))
	clk.Add(20 * time.Second)
	up.handler = fixed(404, "gone")
	expect(t, do(h, req("GET", "/e")), 404, Miss, "gone")
}

func TestAuthenticatedBypass(t *testing.T) {
	withID := func(r *http.Request, name string) *http.Request {
		return r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Identity: &identity.Identity{Subject: name}}))
	}
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		id := reqinfo.FromContext(r.Context())
		io.WriteString(w, "for:"+id.Identity.Name())
	}}
	anon := &upstream{handler: fixed(200, "x", "Cache-Control", "max-age=60")}

	c, _ := newTestCache(t, Config{})
	h := c.Wrap(anon)
	expect(t, do(h, req("GET", "/a", "Authorization", "Bearer t")), 200, Bypass, "x")
	expect(t, do(h, req("GET", "/a", "Authorization", "Bearer t")), 200, Bypass, "x")
	expect(t, do(h, req("GET", "/a")), 200, Miss, "x") // nothing was stored by the bypasses
	h = c.Wrap(up)
	expect(t, do(h, withID(req("GET", "/b"), "alice")), 200, Bypass, "for:alice")

	// KeyConsumer: cached per consumer.
	c, _ = newTestCache(t, Config{KeyConsumer: true})
	h = c.Wrap(up)
	expect(t, do(h, withID(req("GET", "/b"), "alice")), 200, Miss, "for:alice")
	expect(t, do(h, withID(req("GET", "/b"), "bob")), 200, Miss, "for:bob")
	expect(t, do(h, withID(req("GET", "/b"), "alice")), 200, Hit, "for:alice")
	// Authorization without an identity cannot be keyed: bypass.
	expect(t, do(c.Wrap(anon), req("GET", "/c", "Authorization", "Bearer t")), 200, Bypass, "x")

	// CacheAuthenticated: shared.
	c, _ = newTestCache(t, Config{CacheAuthenticated: true})
	h = c.Wrap(anon)
	expect(t, do(h, req("GET", "/a", "Authorization", "Bearer t")), 200, Miss, "x")
	expect(t, do(h, req("GET", "/a", "Authorization", "Bearer u")), 200, Hit, "x")
}

func TestPreconditionsAndUpgradeBypass(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	up := &upstream{handler: fixed(200, "x", "Cache-Control", "max-age=60")}
	h := c.Wrap(up)
	do(h, req("GET", "/p"))
	for _, kv := range [][]string{{"Range", "bytes=0-1"}, {"If-Match", `"a"`}, {"If-Range", `"a"`}, {"If-Unmodified-Since", "Mon, 01 Jan 2024 00:00:00 GMT"}} {
		expect(t, do(h, req("GET", "/p", kv...)), 200, Bypass, "x")
	}
	rec := do(h, req("GET", "/p", "Upgrade", "websocket", "Connection", "Upgrade"))
	if rec.Header().Get("X-Cache") != "" || up.calls.Load() != 6 {
		t.Fatalf("upgrade went through the cache: %v calls %d", rec.Header(), up.calls.Load())
	}
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			w.Header().Set("Cache-Control", "max-age=60")
		}
		io.WriteString(w, r.Method)
	}}
	h := c.Wrap(up)
	do(h, req("GET", "/u"))
	expect(t, do(h, req("GET", "/u")), 200, Hit, "GET")
	rec := do(h, req("POST", "/u"))
	if rec.Header().Get("X-Cache") != "" || rec.Body.String() != "POST" {
		t.Fatalf("POST: %v %q", rec.Header(), rec.Body.String())
	}
	expect(t, do(h, req("GET", "/u")), 200, Miss, "GET")
	// A failed unsafe request invalidates nothing.
	up.handler = fixed(500, "no")
	do(h, req("DELETE", "/u"))
	expect(t, do(h, req("GET", "/u")), 200, Hit, "GET")
}

func TestPurge(t *testing.T) {
	c, _ := newTestCache(t, Config{Namespace: "cache:r1:"})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.URL.String())
	}}
	h := c.Wrap(up)
	paths := []string{"/api/a", "/api/b?x=1", "/apix", "/other"}
	for _, p := range paths {
		do(h, req("GET", "http://one.example"+p))
		do(h, req("GET", "http://two.example"+p))
	}
	if err := c.Purge(context.Background(), c.Key(req("GET", "http://one.example/other"))); err != nil {
		t.Fatal(err)
	}
	expect(t, do(h, req("GET", "http://one.example/other")), 200, Miss, "http://one.example/other")
	expect(t, do(h, req("GET", "http://two.example/other")), 200, Hit, "http://two.example/other")

	n, err := c.PurgePrefix(context.Background(), "/api/")
	if err != nil || n != 4 {
		t.Fatalf("PurgePrefix = %d, %v; want 4 (2 paths × 2 hosts)", n, err)
	}
	expect(t, do(h, req("GET", "http://two.example/api/b?x=1")), 200, Miss, "http://two.example/api/b?x=1")
	expect(t, do(h, req("GET", "http://one.example/apix")), 200, Hit, "http://one.example/apix")
	if _, err := c.PurgePrefix(context.Background(), "api"); err == nil {
		t.Fatal("prefix without '/' accepted")
	}
	if err := c.Purge(context.Background(), "elsewhere:/x"); err == nil {
		t.Fatal("key outside the namespace accepted")
	}
}

func TestBackendFailureIsAMiss(t *testing.T) {
	var logs bytes.Buffer
	fb := &failingBackend{}
	c, _ := newTestCache(t, Config{Backend: fb, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	up := &upstream{handler: fixed(200, "x", "Cache-Control", "max-age=60")}
	h := c.Wrap(up)
	for range 3 {
		expect(t, do(h, req("GET", "/f")), 200, Miss, "x")
	}
	if n := strings.Count(logs.String(), "cache backend failing"); n != 1 {
		t.Fatalf("logged %d times:\n%s", n, logs.String())
	}
}

func TestBackendTimeout(t *testing.T) {
	fb := &failingBackend{slow: true}
	c, _ := newTestCache(t, Config{Backend: fb, Timeout: 20 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	h := c.Wrap(&upstream{handler: fixed(200, "x", "Cache-Control", "max-age=60")})
	start := time.Now()
	expect(t, do(h, req("GET", "/t")), 200, Miss, "x")
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("slow backend held the request %v", d)
	}
	if fb.calls.Load() != 2 { // the lookup and the store, each bounded
		t.Fatalf("backend calls = %d", fb.calls.Load())
	}
}

func TestCorruptEntryIsAMiss(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	h := c.Wrap(&upstream{handler: fixed(200, "x", "Cache-Control", "max-age=60")})
	key := c.Key(req("GET", "/z"))
	c.backend.Set(context.Background(), key, []byte{kindResponse, 0xff, 0xff}, time.Minute)
	expect(t, do(h, req("GET", "/z")), 200, Miss, "x")
	expect(t, do(h, req("GET", "/z")), 200, Hit, "x")
}

func TestConfigErrors(t *testing.T) {
	bad := []Config{
		{TTL: -1},
		{OverrideTTL: true},
		{Methods: []string{"POST"}},
		{Methods: []string{"HEAD"}},
		{Statuses: []int{206}},
		{Statuses: []int{304}},
		{Statuses: []int{99}},
		{KeyHeaders: []string{"bad header"}},
		{MaxBodyBytes: -1},
		{Timeout: -1},
		{StaleIfError: -1},
	}
	for i, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("#%d: %+v accepted", i, cfg)
		}
	}
	c, err := New(Config{})
	if err != nil || c.cfg.Namespace != "cache:" || c.cfg.MaxBodyBytes != 1<<20 || c.cfg.Timeout != 50*time.Millisecond || !c.methods["HEAD"] || !c.statuses[404] {
		t.Fatalf("defaults: %+v %v", c, err)
	}
}
