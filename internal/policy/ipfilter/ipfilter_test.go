package ipfilter

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	ps := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		ps[i] = netip.MustParsePrefix(s)
	}
	return ps
}

func mustNew(t testing.TB, allow, deny []string) *Filter {
	t.Helper()
	f, err := New(Config{Allow: prefixes(t, allow...), Deny: prefixes(t, deny...)})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAllowed(t *testing.T) {
	cases := []struct {
		name        string
		allow, deny []string
		ip          string // "" is the zero Addr
		want        bool
	}{
		{"empty config allows all", nil, nil, "192.0.2.1", true},
		{"empty config allows unknown", nil, nil, "", true},
		{"allow match", []string{"10.0.0.0/8"}, nil, "10.2.3.4", true},
		{"allow miss", []string{"10.0.0.0/8"}, nil, "11.0.0.1", false},
		{"allow first", []string{"10.0.0.0/8"}, nil, "10.0.0.0", true},
		{"allow last", []string{"10.0.0.0/8"}, nil, "10.255.255.255", true},
		{"allow just past", []string{"10.0.0.0/8"}, nil, "11.0.0.0", false},
		{"allow just before", []string{"10.0.0.0/8"}, nil, "9.255.255.255", false},
		{"unknown refused when allow set", []string{"0.0.0.0/0"}, nil, "", false},
		{"unknown allowed with deny only", nil, []string{"0.0.0.0/0", "::/0"}, "", true},
		{"deny only", nil, []string{"192.0.2.0/24"}, "192.0.2.7", false},
		{"deny only miss", nil, []string{"192.0.2.0/24"}, "192.0.3.7", true},
		{"deny wins over allow", []string{"10.0.0.0/8"}, []string{"10.1.0.0/16"}, "10.1.2.3", false},
		{"allow outside deny", []string{"10.0.0.0/8"}, []string{"10.1.0.0/16"}, "10.2.2.3", true},
		{"deny wins, same prefix", []string{"10.0.0.0/8"}, []string{"10.0.0.0/8"}, "10.0.0.1", false},
		{"host prefix", []string{"203.0.113.9/32"}, nil, "203.0.113.9", true},
		{"host prefix miss", []string{"203.0.113.9/32"}, nil, "203.0.113.10", false},
		{"host bits masked", []string{"10.1.2.3/8"}, nil, "10.200.0.1", true},
		{"v4 all", []string{"0.0.0.0/0"}, nil, "255.255.255.255", true},
		{"v6 match", []string{"2001:db8::/32"}, nil, "2001:db8:1::1", true},
		{"v6 miss", []string{"2001:db8::/32"}, nil, "2001:db9::1", false},
		{"v6 all", []string{"::/0"}, nil, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"v6 /64 boundary", []string{"2001:db8:0:1::/64"}, nil, "2001:db8:0:1:ffff:ffff:ffff:ffff", true},
		{"v6 /64 past", []string{"2001:db8:0:1::/64"}, nil, "2001:db8:0:2::", false},
		{"v6 /72", []string{"2001:db8::/72"}, nil, "2001:db8::ff:ffff:ffff:ffff", true},
		{"v6 /72 past", []string{"2001:db8::/72"}, nil, "2001:db8::100:0:0:0", false},
		{"v4 does not match v6 list", []string{"2001:db8::/32"}, nil, "10.0.0.1", false},
		{"v6 does not match v4 list", []string{"10.0.0.0/8"}, nil, "2001:db8::1", false},
		{"mapped ip unmapped", []string{"10.0.0.0/8"}, nil, "::ffff:10.1.2.3", true},
		{"mapped ip denied", nil, []string{"10.0.0.0/8"}, "::ffff:10.1.2.3", false},
		{"mapped prefix is v4", []string{"::ffff:10.0.0.0/104"}, nil, "10.9.9.9", true},
		{"mapped prefix miss", []string{"::ffff:10.0.0.0/104"}, nil, "11.9.9.9", false},
		{"::/0 does not cover v4", nil, []string{"::/0"}, "192.0.2.1", true},
		{"::/0 covers v6", nil, []string{"::/0"}, "2001:db8::1", false},
		{"zone ignored", []string{"fe80::/10"}, nil, "fe80::1%eth0", true},
		{"overlapping allow", []string{"10.0.0.0/8", "10.1.0.0/16", "10.0.0.0/9"}, nil, "10.200.0.1", true},
		{"adjacent allow merged", []string{"10.0.0.0/9", "10.128.0.0/9"}, nil, "10.128.0.0", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustNew(t, c.allow, c.deny)
			var ip netip.Addr
			if c.ip != "" {
				ip = netip.MustParseAddr(c.ip)
			}
			if got := f.Allowed(ip); got != c.want {
				t.Fatalf("Allowed(%v) = %v, want %v", ip, got, c.want)
			}
		})
	}
}

func TestNewRefusesInvalidPrefix(t *testing.T) {
	if _, err := New(Config{Allow: []netip.Prefix{{}}}); err == nil {
		t.Fatal("zero allow prefix accepted")
	}
	if _, err := New(Config{Deny: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), {}}}); err == nil {
		t.Fatal("zero deny prefix accepted")
	}
}

// The merged interval lookup must agree with a linear scan of the
// configured prefixes on random data, including nested and adjacent ones.
func TestAgreesWithLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randAddr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			for i := range b {
				b[i] = byte(rng.IntN(4)) // small alphabet: many hits
			}
			b[0] = 0x20
			return netip.AddrFrom16(b)
		}
		return netip.AddrFrom4([4]byte{10, byte(rng.IntN(4)), byte(rng.IntN(256)), byte(rng.IntN(256))})
	}
	for round := 0; round < 200; round++ {
		var allow, deny []netip.Prefix
		for i := rng.IntN(20); i > 0; i-- {
			v6 := rng.IntN(2) == 0
			bits := 8 + rng.IntN(25)
			if v6 {
				bits = rng.IntN(129)
			}
			p := netip.PrefixFrom(randAddr(v6), bits).Masked()
			if rng.IntN(3) == 0 {
				deny = append(deny, p)
			} else {
				allow = append(allow, p)
			}
		}
		f, err := New(Config{Allow: allow, Deny: deny})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 500; i++ {
			ip := randAddr(rng.IntN(2) == 0)
			want := len(allow) == 0
			for _, p := range allow {
				want = want || p.Contains(ip)
			}
			for _, p := range deny {
				want = want && !p.Contains(ip)
			}
			if got := f.Allowed(ip); got != want {
				t.Fatalf("allow %v deny %v: Allowed(%v) = %v, want %v", allow, deny, ip, got, want)
			}
		}
	}
}

func serve(h http.Handler, ip string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", "/x", nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	info := &reqinfo.Info{}
	if ip != "" {
		info.ClientIP = netip.MustParseAddr(ip)
	}
	r = r.WithContext(reqinfo.NewContext(r.Context(), info))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(299) })

func TestWrap(t *testing.T) {
	h := mustNew(t, []string{"10.0.0.0/8"}, []string{"10.6.6.6/32"}).Wrap(ok)
	if w := serve(h, "10.1.1.1", nil); w.Code != 299 {
		t.Fatalf("allowed client got %d", w.Code)
	}
	w := serve(h, "10.6.6.6", nil)
	if w.Code != http.StatusForbidden {
		t.Fatalf("denied client got %d", w.Code)
	}
	if ct := w.Header().Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("content type %q", ct)
	}
	var d problem.Details
	if err := json.Unmarshal(w.Body.Bytes(), &d); err != nil || d.Status != 403 {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if w := serve(h, "", nil); w.Code != http.StatusForbidden {
		t.Fatalf("unknown client got %d", w.Code)
	}
}

// Without reqinfo (outside a listener) the address is unknown.
func TestWrapWithoutInfo(t *testing.T) {
	h := mustNew(t, []string{"0.0.0.0/0"}, nil).Wrap(ok)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/", nil)) // RemoteAddr 192.0.2.1 must not be used
	if w.Code != http.StatusForbidden {
		t.Fatalf("got %d", w.Code)
	}
}

// Forwarding headers the client sent must not change the decision: only
// Info.ClientIP counts.
func TestSpoofedForwardedHeadersIgnored(t *testing.T) {
	spoof := map[string]string{
		"X-Forwarded-For": "10.1.1.1",
		"X-Real-Ip":       "10.1.1.1",
		"Forwarded":       "for=10.1.1.1",
	}
	h := mustNew(t, []string{"10.0.0.0/8"}, nil).Wrap(ok)
	if w := serve(h, "203.0.113.5", spoof); w.Code != http.StatusForbidden {
		t.Fatalf("spoofed allow: got %d", w.Code)
	}
	spoof = map[string]string{"X-Forwarded-For": "203.0.113.5"}
	h = mustNew(t, nil, []string{"10.0.0.0/8"}).Wrap(ok)
	if w := serve(h, "10.1.1.1", spoof); w.Code != http.StatusForbidden {
		t.Fatalf("spoofed deny evasion: got %d", w.Code)
	}
}

func benchFilter(b *testing.B, n int) {
	rng := rand.New(rand.NewPCG(3, 4))
	var allow []netip.Prefix
	for i := 0; i < n; i++ {
		a := netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(rng.IntN(256)), byte(rng.IntN(256)), 0})
		allow = append(allow, netip.PrefixFrom(a, 24))
	}
	f, err := New(Config{Allow: allow, Deny: []netip.Prefix{netip.MustParsePrefix("2001:db8::/32")}})
	if err != nil {
		b.Fatal(err)
	}
	ips := make([]netip.Addr, 256)
	for i := range ips {
		ips[i] = netip.AddrFrom4([4]byte{byte(rng.IntN(224)), byte(rng.IntN(256)), byte(rng.IntN(256)), 1})
	}
	ips[0] = allow[0].Addr().Next()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f.Allowed(ips[i&255])
	}
}

func BenchmarkAllowed1(b *testing.B)    { benchFilter(b, 1) }
func BenchmarkAllowed1000(b *testing.B) { benchFilter(b, 1000) }

func BenchmarkWrapAllowed(b *testing.B) {
	h := mustNew(b, []string{"10.0.0.0/8"}, nil).Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{ClientIP: netip.MustParseAddr("10.1.2.3")}))
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(nil, r)
	}
}
