package cache

import (
	"net/http"
	"testing"
	"time"
)

// Tests for the behaviours the HTTP caching test suite
// (test/conformance/cache-tests.sh) checks, one per fix; each fails
// without it.

// twice stores a response from a handler with the given headers, moves
// the clock by after, and reports the second request's X-Cache and the
// number of upstream calls.
func twice(t *testing.T, cfg Config, after time.Duration, status int, kv ...string) (string, int64) {
	t.Helper()
	c, clk := newTestCache(t, cfg)
	up := &upstream{handler: fixed(status, "body", kv...)}
	h := c.Wrap(up)
	do(h, req("GET", "/r"))
	clk.Add(after)
	rec := do(h, req("GET", "/r"))
	return rec.Header().Get("X-Cache"), up.calls.Load()
}

func TestAgeListUsesFirstMember(t *testing.T) {
	for _, tc := range []struct {
		age  []string
		want string
	}{
		{[]string{"7200, 0"}, Miss}, // RFC 9111 §5.1: the first member, 7200 > max-age
		{[]string{"7200,0"}, Miss},
		{[]string{"7200", "0"}, Miss},
		{[]string{"0,7200"}, Hit},
		{[]string{"10"}, Hit},
		// An unusable first member: age unknown, so stale (revalidate).
		{[]string{"abc"}, Miss},
		{[]string{"-7200"}, Miss},
		{[]string{"7200.0"}, Miss},
		{[]string{"7200;foo=bar"}, Miss},
	} {
		kv := []string{"Cache-Control", "max-age=3600"}
		for _, a := range tc.age {
			kv = append(kv, "Age", a)
		}
		if got, _ := twice(t, Config{}, time.Second, 200, kv...); got != tc.want {
			t.Errorf("Age %q: second request %s, want %s", tc.age, got, tc.want)
		}
	}
}

func TestInvalidExpiresIsExpired(t *testing.T) {
	date := "Thu, 02 Jan 2025 03:04:05 GMT" // the test clock
	for _, tc := range []struct {
		expires []string
		want    string
	}{
		{[]string{"Thu, 02 Jan 2025 04:04:05 GMT"}, Hit}, // valid, an hour ahead
		{[]string{"Thursday, 02-Jan-25 04:04:05 GMT"}, Hit},
		{[]string{"Thu Jan  2 04:04:05 2025"}, Hit},        // asctime pads the day
		{[]string{"Thu,  02 Jan 2025 04:04:05 GMT"}, Miss}, // double space
		{[]string{"Thu, 02 Jan 2025 4:04:05 GMT"}, Miss},   // one-digit hour
		{[]string{"Thu, 02 Jan 2025 04:04:05 GMT", "Thu, 02 Jan 2025 04:04:05 GMT"}, Miss},
		{[]string{"0"}, Miss},
	} {
		kv := []string{"Date", date}
		for _, e := range tc.expires {
			kv = append(kv, "Expires", e)
		}
		if got, _ := twice(t, Config{}, time.Second, 200, kv...); got != tc.want {
			t.Errorf("Expires %q: second request %s, want %s", tc.expires, got, tc.want)
		}
	}
}

func TestTargetedCacheControl(t *testing.T) {
	own := Config{CacheControlField: "Gatehouse-Cache-Control"}
	for _, tc := range []struct {
		name string
		cfg  Config
		kv   []string
		want string
	}{
		{"CDN-Cache-Control wins over Cache-Control", Config{}, []string{"Cache-Control", "no-store", "CDN-Cache-Control", "max-age=60"}, Hit},
		{"CDN-Cache-Control no-store", Config{}, []string{"Cache-Control", "max-age=60", "CDN-Cache-Control", "no-store"}, Miss},
		{"Expires ignored under a targeted field", Config{}, []string{"Expires", "0", "CDN-Cache-Control", "max-age=60"}, Hit},
		{"parameters ignored", Config{}, []string{"CDN-Cache-Control", "max-age=60;foo=bar"}, Hit},
		{"an empty targeted field is absent", Config{}, []string{"Cache-Control", "max-age=60", "CDN-Cache-Control", ""}, Hit},
		{"own field wins over CDN-Cache-Control", own, []string{"CDN-Cache-Control", "max-age=60", "Gatehouse-Cache-Control", "no-store"}, Miss},
		{"own field stores", own, []string{"CDN-Cache-Control", "no-store", "Gatehouse-Cache-Control", "max-age=60"}, Hit},
		{"own field unknown without config", Config{}, []string{"Cache-Control", "no-store", "Gatehouse-Cache-Control", "max-age=60"}, Miss},
	} {
		if got, _ := twice(t, tc.cfg, time.Second, 200, tc.kv...); got != tc.want {
			t.Errorf("%s: second request %s, want %s", tc.name, got, tc.want)
		}
	}
	// The own field targets this cache alone: never sent on, never stored;
	// CDN-Cache-Control targets every CDN and is passed on.
	c, _ := newTestCache(t, own)
	h := c.Wrap(&upstream{handler: fixed(200, "x", "Gatehouse-Cache-Control", "max-age=60", "CDN-Cache-Control", "max-age=5")})
	for _, want := range []string{Miss, Hit} {
		rec := do(h, req("GET", "/o"))
		expect(t, rec, 200, want, "x")
		if _, ok := rec.Header()["Gatehouse-Cache-Control"]; ok {
			t.Errorf("%s: the own targeted field was forwarded", want)
		}
		if rec.Header().Get("CDN-Cache-Control") != "max-age=5" {
			t.Errorf("%s: CDN-Cache-Control not forwarded: %v", want, rec.Header())
		}
	}
	if _, err := New(Config{CacheControlField: "Cache-Control"}); err == nil {
		t.Error("cache_control_field: Cache-Control accepted")
	}
	if _, err := New(Config{CacheControlField: "bad field"}); err == nil {
		t.Error("an invalid cache_control_field accepted")
	}
}

// validating answers 304 to a matching If-None-Match, else 200 with the
// headers; it records whether each request was conditional.
type validating struct {
	upstream
	conditional []bool
}

func newValidating(etag string, full, notMod []string) *validating {
	v := &validating{}
	v.handler = func(w http.ResponseWriter, r *http.Request) {
		inm := r.Header.Get("If-None-Match")
		v.conditional = append(v.conditional, inm != "")
		if inm == etag {
			fixed(http.StatusNotModified, "", notMod...)(w, r)
			return
		}
		fixed(200, "body", append([]string{"Etag", etag}, full...)...)(w, r)
	}
	return v
}

func TestStaleVariantRevalidated(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	up := newValidating(`"v1"`, []string{"Cache-Control", "max-age=1", "Vary", "Accept-Encoding"}, []string{"Cache-Control", "max-age=1"})
	h := c.Wrap(up)
	expect(t, do(h, req("GET", "/v", "Accept-Encoding", "gzip")), 200, Miss, "body")
	clk.Add(30 * time.Second) // long stale: the old retention had dropped it
	expect(t, do(h, req("GET", "/v", "Accept-Encoding", "gzip")), 200, Revalidated, "body")
	if len(up.conditional) != 2 || !up.conditional[1] {
		t.Fatalf("the stale variant was not revalidated conditionally: %v", up.conditional)
	}
}

func TestRetentionKeepsEntriesWithValidators(t *testing.T) {
	c, _ := newTestCache(t, Config{KeepForRevalidation: time.Hour})
	withV := &entry{lifetime: time.Second, etag: `"x"`}
	without := &entry{lifetime: time.Second, swr: 5 * time.Second}
	if got := c.retention(withV); got != time.Hour {
		t.Errorf("retention with a validator = %v, want the 1h keep", got)
	}
	if got := c.retention(without); got != 7*time.Second {
		t.Errorf("retention without a validator = %v, want lifetime+swr+1s", got)
	}
	d, _ := newTestCache(t, Config{})
	if got := d.retention(withV); got != defaultKeep {
		t.Errorf("default keep = %v", got)
	}
}

func Test304UpdatesStoredHeaders(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	up := newValidating(`"v1"`,
		[]string{"Cache-Control", "max-age=1", "X-A", "1", "Content-Type", "text/plain", "Content-Encoding", "gzip"},
		[]string{"Cache-Control", "max-age=3600", "X-A", "2", "Content-Type", "text/html", "Content-Encoding", "br",
			"Etag", `"v2"`, "Set-Cookie", "s=1", "Content-Length", "99"})
	h := c.Wrap(up)
	do(h, req("GET", "/u"))
	clk.Add(2 * time.Second)
	rec := do(h, req("GET", "/u"))
	expect(t, rec, 200, Revalidated, "body")
	if rec.Header().Get("Set-Cookie") != "s=1" {
		t.Errorf("the 304's Set-Cookie is for this client: %v", rec.Header())
	}
	clk.Add(2 * time.Second) // fresh again only under the 304's max-age
	rec = do(h, req("GET", "/u"))
	expect(t, rec, 200, Hit, "body")
	hd := rec.Header()
	for k, want := range map[string]string{"X-A": "2", "Content-Type": "text/html", "Cache-Control": "max-age=3600",
		"Content-Encoding": "gzip", "Etag": `"v1"`, "Set-Cookie": "", "Content-Length": "4"} {
		if got := hd.Get(k); got != want {
			t.Errorf("stored %s = %q, want %q", k, got, want)
		}
	}
}

func TestMustUnderstand(t *testing.T) {
	cfg := Config{ExplicitStatuses: true}
	if got, _ := twice(t, cfg, time.Second, 599, "Cache-Control", "max-age=60, must-understand"); got != Miss {
		t.Errorf("an unknown status with must-understand was stored (%s)", got)
	}
	if got, _ := twice(t, cfg, time.Second, 200, "Cache-Control", "max-age=60, must-understand, no-store"); got != Hit {
		t.Errorf("must-understand with a known status should override no-store (%s)", got)
	}
}

func TestHeuristicFreshness(t *testing.T) {
	kv := []string{"Date", "Thu, 02 Jan 2025 03:04:05 GMT", "Last-Modified", "Mon, 23 Dec 2024 03:04:05 GMT"} // 10 days
	if got, _ := twice(t, Config{}, time.Hour, 200, kv...); got != Miss {
		t.Errorf("heuristic freshness is opt-in; got %s", got)
	}
	on := Config{HeuristicPercent: 10, HeuristicMax: 12 * time.Hour}
	if got, _ := twice(t, on, 11*time.Hour, 200, kv...); got != Hit {
		t.Errorf("10%% of 10 days (capped 12h) should be fresh after 11h; got %s", got)
	}
	if got, _ := twice(t, on, 13*time.Hour, 200, kv...); got != Revalidated && got != Miss {
		t.Errorf("past the 12h cap should be stale; got %s", got)
	}
	if got, _ := twice(t, on, time.Hour, 500, kv...); got != Miss {
		t.Errorf("500 is not heuristically cacheable; got %s", got)
	}
}

func TestExplicitStatuses(t *testing.T) {
	if got, _ := twice(t, Config{}, time.Second, 500, "Cache-Control", "max-age=60"); got != Miss {
		t.Errorf("500 stored by default (%s)", got)
	}
	on := Config{ExplicitStatuses: true, TTL: time.Minute}
	for _, s := range []int{302, 307, 400, 500, 503, 599} {
		if got, _ := twice(t, on, time.Second, s, "Cache-Control", "max-age=60"); got != Hit {
			t.Errorf("%d with max-age not stored (%s)", s, got)
		}
	}
	// Without explicit freshness the TTL covers only the listed statuses.
	if got, _ := twice(t, on, time.Second, 500); got != Miss {
		t.Errorf("500 stored by TTL (%s)", got)
	}
	if got, _ := twice(t, on, time.Second, 206, "Cache-Control", "max-age=60"); got != Miss {
		t.Errorf("206 stored (%s)", got)
	}
}

func TestStoreAuthorized(t *testing.T) {
	run := func(cfg Config, cc string) (string, int64) {
		c, _ := newTestCache(t, cfg)
		up := &upstream{handler: fixed(200, "b", "Cache-Control", cc)}
		h := c.Wrap(up)
		do(h, req("GET", "/a", "Authorization", "Bearer x"))
		rec := do(h, req("GET", "/a", "Authorization", "Bearer y"))
		return rec.Header().Get("X-Cache"), up.calls.Load()
	}
	if got, _ := run(Config{}, "public, max-age=60"); got != Bypass {
		t.Errorf("default: Authorization bypasses, got %s", got)
	}
	on := Config{StoreAuthorized: true}
	for _, cc := range []string{"public, max-age=60", "s-maxage=60", "max-age=60, must-revalidate"} {
		if got, _ := run(on, cc); got != Hit {
			t.Errorf("%q: got %s, want HIT", cc, got)
		}
	}
	if got, _ := run(on, "max-age=60"); got != Miss {
		t.Errorf("unmarked max-age stored for Authorization: %s", got)
	}
	// An entry stored for an anonymous request without a mark is not
	// used for a request with Authorization.
	c, _ := newTestCache(t, on)
	up := &upstream{handler: fixed(200, "b", "Cache-Control", "max-age=60")}
	h := c.Wrap(up)
	do(h, req("GET", "/a"))
	expect(t, do(h, req("GET", "/a")), 200, Hit, "b")
	if rec := do(h, req("GET", "/a", "Authorization", "Bearer x")); rec.Header().Get("X-Cache") != Miss {
		t.Errorf("unmarked entry served to Authorization: %s", rec.Header().Get("X-Cache"))
	}
}

func TestVaryNormalised(t *testing.T) {
	for _, tc := range []struct {
		fold       bool
		first, sec []string
		want       string
	}{
		{false, []string{"gzip, br"}, []string{"gzip,br"}, Hit},
		{false, []string{"gzip", "br"}, []string{"gzip, br"}, Hit},
		{false, []string{" gzip ,, br "}, []string{"gzip,br"}, Hit},
		{false, []string{"GZIP"}, []string{"gzip"}, Miss},
		{true, []string{"GZIP"}, []string{"gzip"}, Hit},
		{false, []string{"gzip, br"}, []string{"br, gzip"}, Miss}, // order may matter
	} {
		c, _ := newTestCache(t, Config{VaryFoldCase: tc.fold})
		h := c.Wrap(&upstream{handler: fixed(200, "b", "Cache-Control", "max-age=60", "Vary", "Accept-Encoding")})
		r1, r2 := req("GET", "/v"), req("GET", "/v")
		r1.Header["Accept-Encoding"], r2.Header["Accept-Encoding"] = tc.first, tc.sec
		do(h, r1)
		if got := do(h, r2).Header().Get("X-Cache"); got != tc.want {
			t.Errorf("fold=%v %q then %q: %s, want %s", tc.fold, tc.first, tc.sec, got, tc.want)
		}
	}
}

func TestQualifiedNoCacheWithholdsFields(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	h := c.Wrap(&upstream{handler: fixed(200, "b", "Cache-Control", `no-cache="X-A, X-B"`, "Cache-Control", `max-age=60, private="X-C"`,
		"X-A", "1", "X-B", "2", "X-C", "3", "X-D", "4")})
	do(h, req("GET", "/q"))
	rec := do(h, req("GET", "/q"))
	expect(t, rec, 200, Hit, "b")
	for _, k := range []string{"X-A", "X-B", "X-C"} {
		if _, ok := rec.Header()[k]; ok {
			t.Errorf("withheld field %s served from storage", k)
		}
	}
	if rec.Header().Get("X-D") != "4" {
		t.Error("other fields must stay")
	}
}

func TestUnsafeInvalidatesLocationAndContentLocation(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		invalidated   bool
	}{
		{"Location", "/target", true},
		{"Content-Location", "target", true}, // relative to /dir/post
		{"Location", "http://example.com/target", true},
		{"Location", "http://other.example/target", false}, // another origin: never
	} {
		c, _ := newTestCache(t, Config{})
		h := c.Wrap(&upstream{handler: func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				w.Header().Set(tc.header, tc.value)
				w.WriteHeader(201)
				return
			}
			fixed(200, "b", "Cache-Control", "max-age=60")(w, r)
		}})
		target := "/target"
		if tc.value == "target" {
			target = "/dir/target"
		}
		do(h, req("GET", target))
		do(h, req("POST", "/dir/post"))
		got := do(h, req("GET", target)).Header().Get("X-Cache")
		if want := map[bool]string{true: Miss, false: Hit}[tc.invalidated]; got != want {
			t.Errorf("%s: %s: GET after POST %s, want %s", tc.header, tc.value, got, want)
		}
	}
}

func TestRequestMinFreshAndMaxStale(t *testing.T) {
	c, clk := newTestCache(t, Config{})
	// An ETag keeps the entry past its freshness (without one it is gone).
	h := c.Wrap(&upstream{handler: fixed(200, "b", "Cache-Control", "max-age=60", "Etag", `"e"`)})
	do(h, req("GET", "/f"))
	clk.Add(30 * time.Second)
	expect(t, do(h, req("GET", "/f", "Cache-Control", "min-fresh=20")), 200, Hit, "b")
	expect(t, do(h, req("GET", "/f", "Cache-Control", "min-fresh=40")), 200, Miss, "b")
	clk.Add(90 * time.Second) // 60s stale
	expect(t, do(h, req("GET", "/f", "Cache-Control", "max-stale=120")), 200, Stale, "b")
	expect(t, do(h, req("GET", "/f", "Cache-Control", "max-stale")), 200, Stale, "b")
	expect(t, do(h, req("GET", "/f", "Cache-Control", "max-stale=10")), 200, Miss, "b")

	// must-revalidate forbids it.
	c, clk = newTestCache(t, Config{})
	h = c.Wrap(&upstream{handler: fixed(200, "b", "Cache-Control", "max-age=1, must-revalidate", "Etag", `"e"`)})
	do(h, req("GET", "/m"))
	clk.Add(10 * time.Second)
	expect(t, do(h, req("GET", "/m", "Cache-Control", "max-stale")), 200, Miss, "b")
}

func TestHugeDurationsStayDecodable(t *testing.T) {
	e := &entry{status: 200, lifetime: 200 * 365 * 24 * time.Hour, swr: -time.Second}
	got, _, err := decodeRecord(encodeEntry(e))
	if err != nil || got.lifetime != time.Duration(maxDuration) || got.swr != 0 {
		t.Fatalf("decoded %+v, %v", got, err)
	}
}

func TestIfModifiedSinceWithoutLastModifiedUsesDate(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	h := c.Wrap(&upstream{handler: fixed(200, "b", "Cache-Control", "max-age=60", "Date", "Thu, 02 Jan 2025 03:04:05 GMT")})
	do(h, req("GET", "/d"))
	if rec := do(h, req("GET", "/d", "If-Modified-Since", "Thu, 02 Jan 2025 03:04:05 GMT")); rec.Code != http.StatusNotModified {
		t.Fatalf("IMS = Date: %d, want 304", rec.Code)
	}
	if rec := do(h, req("GET", "/d", "If-Modified-Since", "Thu, 02 Jan 2025 03:04:04 GMT")); rec.Code != 200 {
		t.Fatalf("IMS before Date: %d, want 200", rec.Code)
	}
}

func TestStaleOnArrivalWithValidatorIsRevalidated(t *testing.T) {
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{[]string{"Cache-Control", "max-age=0"}, Revalidated},
		{[]string{"Cache-Control", "no-cache"}, Revalidated},
		{[]string{"Expires", "0"}, Revalidated},
		{nil, Miss}, // no caching information at all: not stored
	} {
		c, _ := newTestCache(t, Config{})
		up := newValidating(`"v1"`, tc.kv, nil)
		h := c.Wrap(up)
		do(h, req("GET", "/s"))
		if got := do(h, req("GET", "/s")).Header().Get("X-Cache"); got != tc.want {
			t.Errorf("%q: %s, want %s", tc.kv, got, tc.want)
		}
	}
}

// An interim 103 is never what is stored: the final response is.
// (Relaying 1xx to the client is the proxy's job, not the cache's.)
func TestInterimResponsesNotStored(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	up := &upstream{handler: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</s.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Cache-Control", "max-age=60")
		w.WriteHeader(200)
		w.Write([]byte("final"))
	}}
	h := c.Wrap(up)
	expect(t, do(h, req("GET", "/e")), 200, Miss, "final")
	expect(t, do(h, req("GET", "/e")), 200, Hit, "final")
	if up.calls.Load() != 1 {
		t.Fatalf("calls %d", up.calls.Load())
	}
}
