package cache

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestParseCacheControl(t *testing.T) {
	none := directives{maxAge: -1, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1, maxStale: -1, minFresh: -1}
	with := func(f func(*directives)) directives { d := none; f(&d); return d }
	cases := []struct {
		in   []string
		want directives
	}{
		{nil, none},
		{[]string{"max-age=60"}, with(func(d *directives) { d.maxAge = 60 })},
		{[]string{"Max-Age = 60 , PUBLIC"}, with(func(d *directives) { d.maxAge = 60; d.public = true })},
		{[]string{`max-age="30"`}, with(func(d *directives) { d.maxAge = 30 })},
		{[]string{"max-age=10, max-age=99"}, with(func(d *directives) { d.maxAge = 10 })}, // first wins
		{[]string{"max-age=abc"}, with(func(d *directives) { d.maxAge = 0 })},
		{[]string{"max-age"}, with(func(d *directives) { d.maxAge = 0 })},
		{[]string{"max-age=99999999999999999999"}, with(func(d *directives) { d.maxAge = maxDelta })},
		// Qualified no-cache and private withhold the named fields only.
		{[]string{`no-cache="Set-Cookie, X-Foo", s-maxage=5`}, with(func(d *directives) { d.withheld = []string{"Set-Cookie", "X-Foo"}; d.sMaxAge = 5 })},
		{[]string{`private="a,b"`, "no-store"}, with(func(d *directives) { d.withheld = []string{"A", "B"}; d.noStore = true })},
		{[]string{"max-stale, min-fresh=5"}, with(func(d *directives) { d.maxStale = maxDelta; d.minFresh = 5 })},
		{[]string{"max-stale=7"}, with(func(d *directives) { d.maxStale = 7 })},
		{[]string{`no-cache, private`}, with(func(d *directives) { d.noCache = true; d.private = true })},
		{[]string{"must-revalidate,proxy-revalidate,only-if-cached"}, with(func(d *directives) {
			d.mustRevalidate, d.proxyRevalidate, d.onlyIfCached = true, true, true
		})},
		{[]string{"stale-while-revalidate=30, stale-if-error=600"}, with(func(d *directives) { d.staleWhileRevalidate = 30; d.staleIfError = 600 })},
		{[]string{",,, ,x-ext=\"a\\\"b,c\", max-age=1"}, with(func(d *directives) { d.maxAge = 1 })},
		{[]string{`x="unterminated, max-age=5`}, none},
	}
	for _, tc := range cases {
		if got := parseCacheControl(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
}

func TestRequestPragma(t *testing.T) {
	h := http.Header{"Pragma": {"no-cache"}}
	if !requestDirectives(h).noCache {
		t.Fatal("Pragma: no-cache ignored")
	}
	h["Cache-Control"] = []string{"max-age=5"}
	if requestDirectives(h).noCache {
		t.Fatal("Pragma must be ignored when Cache-Control is present")
	}
}

func TestStorableWindows(t *testing.T) {
	c, _ := newTestCache(t, Config{StaleWhileRevalidate: time.Minute, StaleIfError: time.Hour})
	now := time.Now()
	f, ok := c.storable(200, http.Header{"Cache-Control": {"max-age=10, stale-if-error=5"}}, now)
	if !ok || f.swr != time.Minute || f.sie != 5*time.Second {
		t.Fatalf("config and response windows: %+v %v", f, ok)
	}
	// s-maxage implies proxy-revalidate: config windows do not apply.
	f, _ = c.storable(200, http.Header{"Cache-Control": {"s-maxage=10"}}, now)
	if f.swr != 0 || f.sie != 0 {
		t.Fatalf("s-maxage windows %+v", f)
	}
	f, _ = c.storable(200, http.Header{"Cache-Control": {"max-age=10, must-revalidate, stale-while-revalidate=9"}}, now)
	if !f.noStale || f.swr != 0 {
		t.Fatalf("must-revalidate %+v", f)
	}
	// no-cache without lifetime nor TTL: nothing says how long to keep it.
	if _, ok := c.storable(200, http.Header{"Cache-Control": {"no-cache"}}, now); ok {
		t.Fatal("no-cache without lifetime stored")
	}
}
