package listener

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := NewTrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	cases := []struct {
		name        string
		tp          TrustedProxies
		remote      string
		xff         []string
		want        string
		wantTrusted bool
	}{
		{"no trust: spoofed XFF ignored", TrustedProxies{}, "203.0.113.7:5000", []string{"1.2.3.4"}, "203.0.113.7", false},
		{"untrusted peer: XFF ignored", trusted, "203.0.113.7:5000", []string{"1.2.3.4"}, "203.0.113.7", false},
		{"trusted peer, one hop", trusted, "10.1.1.1:5000", []string{"198.51.100.9"}, "198.51.100.9", true},
		// The client wrote 1.2.3.4 itself; the proxy appended the real address.
		{"rightmost untrusted wins", trusted, "10.1.1.1:5000", []string{"1.2.3.4, 198.51.100.9"}, "198.51.100.9", true},
		{"skips trusted hops", trusted, "10.1.1.1:5000", []string{"198.51.100.9, 10.2.2.2", "10.3.3.3"}, "198.51.100.9", true},
		{"all trusted: leftmost", trusted, "10.1.1.1:5000", []string{"10.2.2.2"}, "10.2.2.2", true},
		{"garbage stops the walk", trusted, "10.1.1.1:5000", []string{"1.2.3.4, nonsense"}, "10.1.1.1", true},
		{"no XFF from trusted peer", trusted, "10.1.1.1:5000", nil, "10.1.1.1", true},
		{"ipv6 peer", trusted, "[::1]:443", []string{"2001:db8::1"}, "2001:db8::1", true},
		{"v4-mapped peer", trusted, "[::ffff:10.0.0.5]:80", []string{"198.51.100.1"}, "198.51.100.1", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			got, tr := c.tp.ClientIP(r)
			if got.String() != c.want || tr != c.wantTrusted {
				t.Fatalf("got %v trusted=%v, want %s trusted=%v", got, tr, c.want, c.wantTrusted)
			}
		})
	}
}

func BenchmarkClientIP(b *testing.B) {
	tp := NewTrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:40000"
	b.ReportAllocs()
	for b.Loop() {
		tp.ClientIP(r)
	}
}
