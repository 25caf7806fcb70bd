package proxyproto

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

func mustHeader(t *testing.T, version int, src, dst string, sni string, alpn []string) string {
	t.Helper()
	var s, d netip.AddrPort
	if src != "" {
		s, d = netip.MustParseAddrPort(src), netip.MustParseAddrPort(dst)
	}
	h, err := Header(version, s, d, sni, alpn)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

func TestReadAccepted(t *testing.T) {
	v2 := mustHeader(t, 2, "192.0.2.7:5000", "198.51.100.1:443", "db.example.com", []string{"h2"})
	v2local := mustHeader(t, 2, "", "", "", nil)
	tests := []struct {
		name     string
		parts    []string
		src, dst string
		sni      string
		alpn     []string
	}{
		{"v1 tcp4", []string{"PROXY TCP4 192.0.2.7 198.51.100.1 5000 443\r\nhello"}, "192.0.2.7:5000", "198.51.100.1:443", "", nil},
		{"v1 tcp6", []string{"PROXY TCP6 2001:db8::1 2001:db8::2 5000 443\r\nhello"}, "[2001:db8::1]:5000", "[2001:db8::2]:443", "", nil},
		{"v1 in pieces", []string{"PRO", "XY TCP4 192.0.2.7 198.", "51.100.1 5000 443\r", "\nhello"}, "192.0.2.7:5000", "198.51.100.1:443", "", nil},
		{"v1 unknown", []string{"PROXY UNKNOWN\r\nhello"}, "", "", "", nil},
		{"v2 with TLVs", []string{v2 + "hello"}, "192.0.2.7:5000", "198.51.100.1:443", "db.example.com", []string{"h2"}},
		{"v2 in pieces", []string{v2[:5], v2[5:20], v2[20:] + "hel", "lo"}, "192.0.2.7:5000", "198.51.100.1:443", "db.example.com", []string{"h2"}},
		{"v2 local", []string{v2local + "hello"}, "", "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := pipeFrom(t)
			send(c, tc.parts...)
			a := &AcceptConfig{Trusted: loopback, Timeout: 10 * time.Second, Required: true}
			res, err := readBounded(t, a, s, 20*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			var wantSrc, wantDst netip.AddrPort
			if tc.src != "" {
				wantSrc, wantDst = netip.MustParseAddrPort(tc.src), netip.MustParseAddrPort(tc.dst)
			}
			if res.Source != wantSrc || res.Destination != wantDst || res.SNI != tc.sni || !slices.Equal(res.ALPN, tc.alpn) {
				t.Fatalf("got %+v", res)
			}
			if got := collect(t, res.Rest, s, 5); got != "hello" {
				t.Fatalf("client data after the header = %q", got)
			}
		})
	}
}

func TestReadRefused(t *testing.T) {
	v2 := mustHeader(t, 2, "192.0.2.7:5000", "198.51.100.1:443", "", nil)
	tests := []struct {
		name string
		a    AcceptConfig
		data string // "" = silent
	}{
		{"v1 from untrusted", AcceptConfig{Trusted: elsewhere}, "PROXY TCP4 192.0.2.7 198.51.100.1 5000 443\r\nGET / HTTP/1.1\r\n\r\n"},
		{"v2 from untrusted", AcceptConfig{Trusted: elsewhere}, v2 + "GET / HTTP/1.1\r\n\r\n"},
		{"zero config refuses", AcceptConfig{}, "PROXY UNKNOWN\r\n"},
		{"required, none sent", AcceptConfig{Trusted: loopback, Required: true}, "GET / HTTP/1.1\r\n\r\n"},
		{"required, silent", AcceptConfig{Trusted: loopback, Required: true, Timeout: 50 * time.Millisecond}, ""},
		{"malformed v1", AcceptConfig{Trusted: loopback}, "PROXY TCP4 nonsense\r\n"},
		{"v1 without CRLF", AcceptConfig{Trusted: loopback}, "PROXY TCP4 192.0.2.7 198.51.100.1 5000 443\n"},
		{"v1 too long", AcceptConfig{Trusted: loopback}, "PROXY TCP4 " + string(make([]byte, 200))},
		{"v2 bad command", AcceptConfig{Trusted: loopback}, v2[:12] + "\x2f" + v2[13:]},
		{"signature stalls", AcceptConfig{Trusted: elsewhere, Timeout: 50 * time.Millisecond}, "PROX"},
		{"v2 signature stalls", AcceptConfig{Trusted: loopback, Timeout: 50 * time.Millisecond}, v2[:8]},
		{"v2 header stalls", AcceptConfig{Trusted: loopback, Timeout: 50 * time.Millisecond}, v2[:20]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, c := pipeFrom(t)
			if tc.data != "" {
				send(c, tc.data)
			}
			res, err := readBounded(t, &tc.a, s, 20*time.Second)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("err = %v, want ErrRefused", err)
			}
			if res.Source.IsValid() {
				t.Fatalf("refused header believed: %+v", res)
			}
		})
	}
}

// An untrusted client that does not speak PROXY protocol goes through,
// having been read at most 16 bytes, as soon as its bytes rule a
// signature out.
func TestReadUntrustedPlainClient(t *testing.T) {
	for _, data := range []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "P", "\r\n\r\nX", "SSH-2.0-x\r\n"} {
		s, c := pipeFrom(t)
		if data == "P" {
			send(c, data, "ING") // a prefix of "PROXY " first, then not
			data = "PING"
		} else {
			send(c, data)
		}
		a := &AcceptConfig{Trusted: elsewhere, Timeout: time.Minute}
		res, err := readBounded(t, a, s, 20*time.Second)
		if err != nil || res.Source.IsValid() {
			t.Fatalf("%q: %+v %v", data, res, err)
		}
		if len(res.Rest) > untrustedBuf {
			t.Fatalf("%q: read %d bytes from an untrusted peer", data, len(res.Rest))
		}
		if got := collect(t, res.Rest, s, len(data)); got != data {
			t.Fatalf("%q: client bytes = %q", data, got)
		}
	}
}

// A trusted peer that sends nothing (a server-first protocol, or a
// health check) is released by the timeout when the header is optional,
// with nothing read and the deadline cleared.
func TestReadSilentPeerReleasedByTimeout(t *testing.T) {
	ln := listen(t)
	s, c := tcpPair(t, ln)
	const timeout = 100 * time.Millisecond
	a := &AcceptConfig{Trusted: loopback, Timeout: timeout}
	start := time.Now()
	res, err := readBounded(t, a, s, 20*time.Second)
	if err != nil || len(res.Rest) != 0 || res.Source.IsValid() {
		t.Fatalf("got %+v, %v", res, err)
	}
	if time.Since(start) < timeout {
		t.Fatalf("released after %v, before the timeout", time.Since(start))
	}
	// The header deadline must be gone: a read after it would have expired
	// still succeeds.
	for time.Since(start) < 3*timeout {
		time.Sleep(timeout) // waits for the clock to pass the old deadline
	}
	send(c, "late")
	if got := collect(t, nil, s, 4); got != "late" {
		t.Fatalf("got %q", got)
	}
}

// The same over real sockets: a header and data in one segment.
func TestReadTCP(t *testing.T) {
	ln := listen(t)
	s, c := tcpPair(t, ln)
	c.Write([]byte(mustHeader(t, 1, "203.0.113.9:1234", "127.0.0.1:80", "", nil) + "data"))
	a := &AcceptConfig{Trusted: loopback}
	res, err := readBounded(t, a, s, 20*time.Second)
	if err != nil || res.Source != netip.MustParseAddrPort("203.0.113.9:1234") {
		t.Fatalf("%+v %v", res, err)
	}
	if got := collect(t, res.Rest, s, 4); got != "data" {
		t.Fatalf("got %q", got)
	}
	var _ net.Conn = s
}
