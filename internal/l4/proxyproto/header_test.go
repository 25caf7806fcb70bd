package proxyproto

import (
	"bufio"
	"bytes"
	"net/netip"
	"testing"

	pp "github.com/pires/go-proxyproto"
)

// parseBack parses h with the library, as any receiver would.
func parseBack(t *testing.T, h []byte) *pp.Header {
	t.Helper()
	ph, err := pp.Read(bufio.NewReader(bytes.NewReader(h)))
	if err != nil {
		t.Fatalf("library cannot parse %q: %v", h, err)
	}
	return ph
}

func TestHeaderParsedBackByLibrary(t *testing.T) {
	ap := netip.MustParseAddrPort
	tests := []struct {
		name     string
		version  int
		src, dst netip.AddrPort
		want     string // v1 wire text; "" = check fields only
		proto    pp.AddressFamilyAndProtocol
		cmd      pp.ProtocolVersionAndCommand
		srcOut   string
	}{
		{"v1 tcp4", 1, ap("192.0.2.7:5000"), ap("198.51.100.1:443"), "PROXY TCP4 192.0.2.7 198.51.100.1 5000 443\r\n", pp.TCPv4, pp.PROXY, "192.0.2.7:5000"},
		{"v1 tcp6", 1, ap("[2001:db8::1]:5000"), ap("[2001:db8::2]:443"), "PROXY TCP6 2001:db8::1 2001:db8::2 5000 443\r\n", pp.TCPv6, pp.PROXY, "[2001:db8::1]:5000"},
		{"v1 mapped source", 1, ap("[::ffff:192.0.2.7]:5000"), ap("198.51.100.1:443"), "PROXY TCP4 192.0.2.7 198.51.100.1 5000 443\r\n", pp.TCPv4, pp.PROXY, "192.0.2.7:5000"},
		{"v1 mixed families", 1, ap("192.0.2.7:5000"), ap("[2001:db8::2]:443"), "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::2 5000 443\r\n", pp.TCPv6, pp.PROXY, "192.0.2.7:5000"},
		{"v1 unknown client", 1, netip.AddrPort{}, ap("198.51.100.1:443"), "PROXY UNKNOWN\r\n", pp.UNSPEC, pp.LOCAL, ""},
		{"v2 tcp4", 2, ap("192.0.2.7:5000"), ap("198.51.100.1:443"), "", pp.TCPv4, pp.PROXY, "192.0.2.7:5000"},
		{"v2 tcp6", 2, ap("[2001:db8::1]:5000"), ap("[2001:db8::2]:443"), "", pp.TCPv6, pp.PROXY, "[2001:db8::1]:5000"},
		{"v2 unknown client", 2, netip.AddrPort{}, ap("198.51.100.1:443"), "", pp.UNSPEC, pp.LOCAL, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := Header(tc.version, tc.src, tc.dst, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && string(h) != tc.want {
				t.Fatalf("wire = %q, want %q", h, tc.want)
			}
			ph := parseBack(t, h)
			if int(ph.Version) != tc.version || ph.TransportProtocol != tc.proto || ph.Command != tc.cmd {
				t.Fatalf("parsed %+v", ph)
			}
			if tc.srcOut != "" {
				s, d, ok := ph.TCPAddrs()
				if !ok || s.String() != tc.srcOut || d.Port != int(tc.dst.Port()) {
					t.Fatalf("addresses %v %v", s, d)
				}
			}
		})
	}
	if _, err := Header(3, ap("192.0.2.7:5000"), ap("198.51.100.1:443"), "", nil); err == nil {
		t.Fatal("version 3 accepted")
	}
}

func TestHeaderTLVsRoundTrip(t *testing.T) {
	src, dst := netip.MustParseAddrPort("192.0.2.7:5000"), netip.MustParseAddrPort("198.51.100.1:443")
	h, err := Header(2, src, dst, "db.example.com", []string{"h2", "http/1.1"})
	if err != nil {
		t.Fatal(err)
	}
	tlvs, err := parseBack(t, h).TLVs()
	if err != nil || len(tlvs) != 2 ||
		tlvs[0].Type != pp.PP2_TYPE_AUTHORITY || string(tlvs[0].Value) != "db.example.com" ||
		tlvs[1].Type != pp.PP2_TYPE_ALPN || string(tlvs[1].Value) != "h2" {
		t.Fatalf("TLVs %+v, %v", tlvs, err)
	}
	// And through our own reader.
	res, err := fromHeader(parseBack(t, h))
	if err != nil || res.SNI != "db.example.com" || len(res.ALPN) != 1 || res.ALPN[0] != "h2" || res.Source != src || res.Destination != dst {
		t.Fatalf("%+v %v", res, err)
	}
	// v1 has no TLVs: they are left out, not an error.
	h1, err := Header(1, src, dst, "db.example.com", []string{"h2"})
	if err != nil || string(h1) != "PROXY TCP4 192.0.2.7 198.51.100.1 5000 443\r\n" {
		t.Fatalf("%q %v", h1, err)
	}
}

func TestHeaderDatagram(t *testing.T) {
	for _, tc := range []struct {
		src, dst string
		proto    pp.AddressFamilyAndProtocol
	}{
		{"192.0.2.7:5353", "198.51.100.1:53", pp.UDPv4},
		{"[2001:db8::1]:5353", "[2001:db8::2]:53", pp.UDPv6},
	} {
		src, dst := netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
		h, err := HeaderDatagram(src, dst)
		if err != nil {
			t.Fatal(err)
		}
		ph := parseBack(t, h)
		s, d, ok := ph.UDPAddrs()
		if ph.Version != 2 || ph.TransportProtocol != tc.proto || !ok || s.AddrPort() != src || d.AddrPort() != dst {
			t.Fatalf("%s: parsed %+v", tc.src, ph)
		}
		res, err := fromHeader(ph)
		if err != nil || res.Source != src || res.Destination != dst {
			t.Fatalf("%+v %v", res, err)
		}
	}
	h, err := HeaderDatagram(netip.AddrPort{}, netip.MustParseAddrPort("198.51.100.1:53"))
	if err != nil || parseBack(t, h).Command != pp.LOCAL {
		t.Fatalf("unknown client: %q %v", h, err)
	}
}
