package l4

import (
	"net/netip"
	"testing"
)

func TestTableFindPrecedence(t *testing.T) {
	r := func(name string, m Match) *Route { return &Route{Name: name, Match: m} }
	tbl := NewTable([]*Route{
		r("default", Match{}),
		r("wild", Match{SNI: []string{"*.example.com"}}),
		r("deeper", Match{SNI: []string{"*.api.example.com"}}),
		r("exact", Match{SNI: []string{"db.example.com"}}),
		r("exact-again", Match{SNI: []string{"db.example.com"}}), // a tie: the first listed wins
		r("h2", Match{ALPN: []string{"h2"}, SNI: []string{"web.example.org"}}),
		r("office", Match{ClientIPs: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}, SNI: []string{"web.example.org"}}),
		r("port", Match{DestinationPorts: []uint16{5432}}),
	})
	if !tbl.NeedsSNI {
		t.Fatal("NeedsSNI false with SNI routes")
	}
	client := netip.MustParseAddrPort("192.0.2.1:5000")
	local := netip.MustParseAddrPort("127.0.0.1:443")
	cases := []struct {
		sni   string
		alpn  []string
		from  netip.AddrPort
		local netip.AddrPort
		want  string
	}{
		{"db.example.com", nil, client, local, "exact"},
		{"x.example.com", nil, client, local, "wild"},
		{"a.b.example.com", nil, client, local, "wild"}, // a wildcard covers several labels
		{"v1.api.example.com", nil, client, local, "deeper"},
		{"example.com", nil, client, local, "default"}, // not the bare suffix
		{"", nil, client, local, "default"},
		{"web.example.org", []string{"http/1.1", "h2"}, client, local, "h2"},
		{"web.example.org", nil, netip.MustParseAddrPort("10.1.2.3:1"), local, "office"},
		{"web.example.org", nil, netip.MustParseAddrPort("[::ffff:10.1.2.3]:1"), local, "office"}, // IPv4-mapped client
		{"web.example.org", nil, client, local, "default"},
		{"", nil, client, netip.MustParseAddrPort("127.0.0.1:5432"), "default"}, // default listed first ties at score 0
	}
	for _, c := range cases {
		got := tbl.Find(&Conn{SNI: c.sni, ALPN: c.alpn, Client: c.from, Local: c.local})
		if got == nil || got.Name != c.want {
			t.Errorf("sni %q alpn %v from %s to %s: route %v, want %s", c.sni, c.alpn, c.from, c.local, got, c.want)
		}
	}
}

func TestTableNoDefault(t *testing.T) {
	tbl := NewTable([]*Route{{Name: "only", Match: Match{DestinationPorts: []uint16{5432}}}})
	if tbl.NeedsSNI {
		t.Error("NeedsSNI true without SNI or ALPN routes")
	}
	if got := tbl.Find(&Conn{Local: netip.MustParseAddrPort("127.0.0.1:5433")}); got != nil {
		t.Errorf("route %s for a port no route names", got.Name)
	}
	if got := tbl.Find(&Conn{Local: netip.MustParseAddrPort("127.0.0.1:5432")}); got == nil || got.Name != "only" {
		t.Errorf("destination port 5432: %v", got)
	}
}

func TestBalancerRequest(t *testing.T) {
	c := &Conn{Client: netip.MustParseAddrPort("192.0.2.7:4000"), SNI: "db.example.com"}
	r := c.BalancerRequest()
	if r.RemoteAddr != "192.0.2.7:4000" || r.TLS == nil || r.TLS.ServerName != "db.example.com" {
		t.Errorf("request: RemoteAddr %q TLS %+v", r.RemoteAddr, r.TLS)
	}
	if r := (&Conn{}).BalancerRequest(); r.RemoteAddr != "" || r.TLS != nil {
		t.Errorf("empty conn: RemoteAddr %q TLS %v", r.RemoteAddr, r.TLS)
	}
}
