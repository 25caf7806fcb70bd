package balancer

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var testStickyKey = []byte("0123456789abcdef0123456789abcdef")

// fakeClock replaces timeNow for a test.
type fakeClock struct{ ns atomic.Int64 }

func useFakeClock(t *testing.T) *fakeClock {
	t.Helper()
	c := &fakeClock{}
	c.ns.Store(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	old := timeNow
	timeNow = func() time.Time { return time.Unix(0, c.ns.Load()) }
	t.Cleanup(func() { timeNow = old })
	return c
}

func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// stickyPool is a pool of three equal targets, round robin under sticky.
func stickyPool(t *testing.T, c StickyConfig) (*Pool, []*Target) {
	t.Helper()
	ts := targets(1, 1, 1)
	p := NewPool("users")
	if _, err := p.UpdateWithOptions("round_robin", ts, Options{Sticky: &c}); err != nil {
		t.Fatal(err)
	}
	return p, ts
}

// withCookie returns a request carrying the cookie of setCookie (a
// Set-Cookie value) among others.
func withCookie(t *testing.T, setCookie string) *http.Request {
	t.Helper()
	c, err := http.ParseSetCookie(setCookie)
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", setCookie, err)
	}
	return withCookieValue(c.Name, c.Value)
}

func withCookieValue(name, value string) *http.Request {
	r := httptestRequest("/")
	r.Header.Set("Cookie", "theme=dark; "+name+"="+value+"; lang=en")
	return r
}

func cookieOf(t *testing.T, setCookie string) *http.Cookie {
	t.Helper()
	c, err := http.ParseSetCookie(setCookie)
	if err != nil {
		t.Fatalf("Set-Cookie %q: %v", setCookie, err)
	}
	return c
}

// checkFallsBack asserts that r is not pinned: the round-robin inner
// spreads it over all three targets, and Pin re-pins to whatever served it.
func checkFallsBack(t *testing.T, p *Pool, ts []*Target, r *http.Request, bad string) {
	t.Helper()
	seen := map[*Target]int{}
	for range 30 {
		got := p.Pick(r, nil)
		seen[got]++
		set := p.Pin(r, got)
		if set == "" || cookieOf(t, set).Value == bad {
			t.Fatalf("Pin(%s) = %q: want a fresh cookie", got.Addr, set)
		}
		if p.Pick(withCookie(t, set), nil) != got {
			t.Fatal("re-pinned cookie does not route to its target")
		}
	}
	if len(seen) != len(ts) {
		t.Fatalf("picks %v: an invalid cookie still steered the pick", seen)
	}
}

func TestStickyPinsAndRoutes(t *testing.T) {
	p, ts := stickyPool(t, StickyConfig{Cookie: "gh_s", TTL: time.Hour, Secure: true, HTTPOnly: true, Key: testStickyKey})
	r := httptestRequest("/")
	first := p.Pick(r, nil)
	set := p.Pin(r, first)
	c := cookieOf(t, set)
	if c.Name != "gh_s" || c.Path != "/" || c.MaxAge != 3600 || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
		t.Fatalf("Set-Cookie %q: attributes not as configured", set)
	}
	// The cookie must not reveal the address, in clear or in base64.
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(c.Value, ".")[0])
	for _, x := range ts {
		if strings.Contains(set, x.Addr) || bytes.Contains(payload, []byte(x.Addr)) {
			t.Fatalf("cookie %q leaks target address %s", set, x.Addr)
		}
	}
	pinned := withCookie(t, set)
	for i := range 100 {
		if got := p.Pick(pinned, nil); got != first {
			t.Fatalf("pick %d: %v, want the pinned %s", i, got.Addr, first.Addr)
		}
	}
	if again := p.Pin(pinned, first); again != "" {
		t.Fatalf("already pinned request re-pinned: %q", again)
	}
	// Each target gets its own cookie, and each routes to its target.
	for _, x := range ts {
		if got := p.Pick(withCookie(t, p.Pin(r, x)), nil); got != x {
			t.Fatalf("cookie for %s routed to %s", x.Addr, got.Addr)
		}
	}
}

func TestStickyDefaults(t *testing.T) {
	p, ts := stickyPool(t, StickyConfig{})
	c := cookieOf(t, p.Pin(nil, ts[0]))
	if c.Name != DefaultStickyCookie || c.Path != "/" || c.MaxAge != 0 || !c.Expires.IsZero() || c.SameSite != http.SameSiteLaxMode || c.Secure || c.HttpOnly {
		t.Fatalf("default cookie %+v", c)
	}
	// With no key configured the per-process key is used, so a cookie
	// survives a reload (a new Sticky).
	p2, _ := stickyPool(t, StickyConfig{})
	if got := p2.Pick(withCookieValue(c.Name, c.Value), nil); got.Addr != ts[0].Addr {
		t.Fatalf("cookie not honoured by a rebuilt pool: %s", got.Addr)
	}
}

func TestStickyRejectsInvalidCookies(t *testing.T) {
	clk := useFakeClock(t)
	cfg := StickyConfig{TTL: time.Minute, Key: testStickyKey}
	p, ts := stickyPool(t, cfg)
	good := cookieOf(t, p.Pin(nil, ts[1])).Value
	other := cookieOf(t, p.Pin(nil, ts[2])).Value
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	// Another pool's target, signed with the same key: authentic but unknown.
	foreign := NewTarget(&url.URL{Scheme: "http", Host: "10.9.9.9:80"}, 1)
	unknown := cookieOf(t, NewSticky(NewRoundRobin(nil), []*Target{foreign}, cfg).Pin(nil, foreign)).Value
	otherKey := cookieOf(t, NewSticky(NewRoundRobin(ts), ts, StickyConfig{TTL: time.Minute, Key: []byte("another key")}).Pin(nil, ts[1])).Value

	cases := map[string]string{
		"tampered MAC":         flip(good, stickyValueLen-3),
		"tampered payload":     flip(good, 3),
		"payload of another":   other[:stickyB64Len] + good[stickyB64Len:],
		"unknown target":       unknown,
		"another key":          otherKey,
		"truncated":            good[:len(good)-1],
		"no separator":         strings.Replace(good, ".", "x", 1),
		"not base64":           "!" + good[1:],
		"non-canonical bits":   good[:stickyB64Len-1] + "B" + good[stickyB64Len:], // last char's spare bits set
		"empty":                "",
		"address as the id":    base64.RawURLEncoding.EncodeToString([]byte(ts[1].Addr)),
		"quoted garbage":       `"abc"`,
		"payload of good only": good[:stickyB64Len],
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			checkFallsBack(t, p, ts, withCookieValue(DefaultStickyCookie, v), v)
		})
	}
	t.Run("expired", func(t *testing.T) {
		r := withCookieValue(DefaultStickyCookie, good)
		clk.advance(59 * time.Second)
		if got := p.Pick(r, nil); got != ts[1] {
			t.Fatalf("cookie refused before its expiry: %s", got.Addr)
		}
		clk.advance(time.Second)
		checkFallsBack(t, p, ts, r, good)
	})
}

// A cookie with a TTL is refreshed once less than half of it is left, so
// an active client stays pinned; before that Pin sets nothing.
func TestStickyRefresh(t *testing.T) {
	clk := useFakeClock(t)
	p, ts := stickyPool(t, StickyConfig{TTL: 10 * time.Minute, Key: testStickyKey})
	r := withCookie(t, p.Pin(nil, ts[0]))
	clk.advance(4 * time.Minute)
	if set := p.Pin(r, ts[0]); set != "" {
		t.Fatalf("refreshed with 6 of 10 minutes left: %q", set)
	}
	clk.advance(2 * time.Minute)
	set := p.Pin(r, ts[0])
	if set == "" {
		t.Fatal("not refreshed with 4 of 10 minutes left")
	}
	clk.advance(8 * time.Minute) // the old cookie has expired, the new one not
	if p.Pick(withCookie(t, set), nil) != ts[0] {
		t.Fatal("refreshed cookie does not route to its target")
	}
	// A session cookie (issued without TTL) is replaced once there is one.
	session, _ := stickyPool(t, StickyConfig{Key: testStickyKey})
	if p.Pin(withCookie(t, session.Pin(nil, ts[0])), ts[0]) == "" {
		t.Fatal("cookie without expiry kept under a TTL")
	}
}

func TestStickyPinnedTargetUnavailable(t *testing.T) {
	for _, how := range []string{"down", "draining", "skipped"} {
		t.Run(how, func(t *testing.T) {
			p, ts := stickyPool(t, StickyConfig{Key: testStickyKey})
			r := withCookie(t, p.Pin(nil, ts[0]))
			var skip *Target
			switch how {
			case "down":
				ts[0].SetDown(true)
			case "draining":
				ts[0].SetDraining(true)
			case "skipped":
				skip = ts[0]
			}
			moved := p.Pick(r, skip)
			if moved == nil || moved == ts[0] {
				t.Fatalf("picked %v: the pinned target is %s", moved, how)
			}
			set := p.Pin(r, moved)
			if set == "" {
				t.Fatal("moved request not re-pinned")
			}
			// The new pin holds, even once the old target is back.
			ts[0].SetDown(false)
			ts[0].SetDraining(false)
			r2 := withCookie(t, set)
			for range 20 {
				if got := p.Pick(r2, nil); got != moved {
					t.Fatalf("re-pinned request went to %s, want %s", got.Addr, moved.Addr)
				}
			}
			if p.Pin(r2, moved) != "" {
				t.Fatal("re-pinned request pinned again")
			}
		})
	}
}

func TestStickyPinOutsidePool(t *testing.T) {
	p, ts := stickyPool(t, StickyConfig{Key: testStickyKey})
	if p.Pin(nil, nil) != "" || p.Pin(nil, targets(1, 1, 1, 1)[3]) != "" {
		t.Fatal("pinned to nil or to a target the pool does not have")
	}
	// A pool without stickiness pins nothing.
	plain := NewPool("plain")
	if _, err := plain.Update("round_robin", ts); err != nil {
		t.Fatal(err)
	}
	if plain.Pin(nil, ts[0]) != "" || NewPool("empty").Pin(nil, ts[0]) != "" {
		t.Fatal("pool without sticky sessions set a cookie")
	}
}

func TestStickyOptionErrors(t *testing.T) {
	for name, c := range map[string]StickyConfig{
		"negative ttl": {TTL: -time.Second},
		"bad name":     {Cookie: "a b;c"},
	} {
		if _, err := NewWithOptions("random", targets(1), Options{Sticky: &c}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Sticky wraps any algorithm, hash included.
	for _, algo := range Algorithms() {
		b, err := NewWithOptions(algo, targets(1, 1), Options{Sticky: &StickyConfig{}})
		if err != nil {
			t.Fatalf("%s: %v", algo, err)
		}
		if _, ok := b.(*Sticky); !ok {
			t.Fatalf("%s: %T, want *Sticky", algo, b)
		}
	}
}

// The configured key is copied: changing the caller's slice later must not
// change (or race with) the MAC.
func TestStickyCopiesKey(t *testing.T) {
	key := bytes.Clone(testStickyKey)
	ts := targets(1, 1)
	s := NewSticky(NewRoundRobin(ts), ts, StickyConfig{Key: key})
	set := s.Pin(nil, ts[1])
	key[0] ^= 1
	if s.Pick(withCookie(t, set), nil) != ts[1] {
		t.Fatal("sticky follows mutations of the caller's key")
	}
}

func TestStickyPickDoesNotAllocate(t *testing.T) {
	ts := targets(1, 2, 3, 4)
	s := NewSticky(NewRandom(ts), ts, StickyConfig{TTL: time.Hour, Key: testStickyKey})
	r := withCookie(t, s.Pin(nil, ts[2]))
	s.Pick(r, nil) // warm the MAC pool
	pick := testing.AllocsPerRun(1000, func() { s.Pick(r, nil) })
	pin := testing.AllocsPerRun(1000, func() { s.Pin(r, ts[2]) })
	t.Logf("allocs per Pick with a valid cookie: %v, per Pin already pinned: %v", pick, pin)
	// The race detector makes sync.Pool drop a share of what is Put, so
	// the MAC state is rebuilt now and then; allocation-free only without.
	if !raceEnabled && (pick != 0 || pin != 0) {
		t.Errorf("Pick allocates %v, Pin %v, want 0", pick, pin)
	}
}

func TestDecodeB64(t *testing.T) {
	for range 200 {
		var b [16]byte
		rand.Read(b[:])
		enc := base64.RawURLEncoding.EncodeToString(b[:])
		var got [16]byte
		if !decodeB64(got[:], enc) || got != b {
			t.Fatalf("decode(%q) = %x, want %x", enc, got, b)
		}
	}
	var dst [16]byte
	for _, bad := range []string{"", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAA+", "AAAAAAAAAAAAAAAAAAAAA/", "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAAB"} {
		if decodeB64(dst[:], bad) {
			t.Errorf("decoded %q", bad)
		}
	}
}

// The MAC is HMAC-SHA256 truncated: cookies are checkable by anyone who
// holds the key with the standard library alone.
func FuzzStickyCookie(f *testing.F) {
	ts := targets(1, 1, 1)
	s := NewSticky(NewRoundRobin(ts), ts, StickyConfig{Key: testStickyKey, TTL: time.Hour})
	for _, x := range ts {
		c, err := http.ParseSetCookie(s.Pin(nil, x))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.Value)
	}
	f.Add("")
	f.Add(strings.Repeat("A", stickyB64Len) + "." + strings.Repeat("A", stickyB64Len))
	f.Fuzz(func(t *testing.T, v string) {
		r := httptestRequest("/")
		r.Header.Set("Cookie", DefaultStickyCookie+"="+v)
		id, _, ok := s.read(r)
		if !ok {
			return
		}
		// Accepted only if it is exactly what issue would have written.
		if s.byID[id] == nil || len(v) != stickyValueLen {
			t.Fatalf("accepted %q naming %x", v, id)
		}
		payload, err := base64.RawURLEncoding.Strict().DecodeString(v[:stickyB64Len])
		if err != nil {
			t.Fatalf("accepted non-canonical %q", v)
		}
		mac := s.mac((*[stickyPayloadLen]byte)(payload))
		if want := base64.RawURLEncoding.EncodeToString(mac[:]); v[stickyB64Len+1:] != want {
			t.Fatalf("accepted %q with a MAC other than %s", v, want)
		}
	})
}

// BenchmarkSticky is the per-request cost of cookie affinity from all
// cores: Pick with a valid cookie (session, or with a TTL, which reads the
// clock), Pin on an already pinned request (the proxy's call on every
// response), and Pick without a cookie (scan, then the inner algorithm).
//
//	go test -run '^$' -bench BenchmarkSticky -benchmem ./internal/balancer/
func BenchmarkSticky(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"session", 0}, {"ttl", time.Hour}} {
		ts := targets(1, 1, 1, 1)
		s := NewSticky(NewRoundRobin(ts), ts, StickyConfig{TTL: c.ttl, Key: testStickyKey})
		set, err := http.ParseSetCookie(s.Pin(nil, ts[2]))
		if err != nil {
			b.Fatal(err)
		}
		pinned := withCookieValue(set.Name, set.Value)
		b.Run(c.name+"/pick_pinned", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if s.Pick(pinned, nil) != ts[2] {
						b.Fatal("not sticky")
					}
				}
			})
		})
		b.Run(c.name+"/pin_pinned", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if s.Pin(pinned, ts[2]) != "" {
						b.Fatal("re-pinned")
					}
				}
			})
		})
	}
	ts := targets(1, 1, 1, 1)
	s := NewSticky(NewRoundRobin(ts), ts, StickyConfig{Key: testStickyKey})
	fresh := withCookieValue("session", "abc")
	b.Run("session/pick_no_cookie", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				s.Pick(fresh, nil)
			}
		})
	})
	b.Run("session/pin_new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			s.Pin(fresh, ts[1])
		}
	})
}
