package listener

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
)

func TestNewProxyAcceptCanonical(t *testing.T) {
	a := NewProxyAccept([]netip.Prefix{netip.MustParsePrefix("10.1.2.3/8"), netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}, time.Second, true)
	b := NewProxyAccept([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}, time.Second, true)
	if a != b || a.Trusted != "10.0.0.0/8,127.0.0.1/32" || !a.Enabled() || (ProxyAccept{}).Enabled() {
		t.Fatalf("%+v %+v", a, b)
	}
	if c := a.Config(); len(c.Trusted) != 2 || c.Timeout != time.Second || !c.Required {
		t.Fatalf("%+v", c)
	}
}

// proxyServer serves a handler reporting the request's RemoteAddr and
// resolved client IP (trusting the proxies tp).
func proxyServer(t *testing.T, s Settings, tp TrustedProxies) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _ := tp.ClientIP(r)
		fmt.Fprintf(w, "%s %s", r.RemoteAddr, ip)
	})
	var getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	if s.TLS {
		pair := writeCert(t, t.TempDir(), "c", "example.test")
		cert, err := tls.LoadX509KeyPair(pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		getCert = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	sv := Serve(ln, s, h, getCert, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { sv.Shutdown(context.Background()) })
	return sv
}

// ask sends header (may be empty) then one request with extra headers
// over a fresh connection and returns the body, "" when the server closed
// the connection without an answer.
func ask(t *testing.T, sv *Server, header, extra string) string {
	t.Helper()
	raw, err := net.Dial("tcp", sv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(raw, header); err != nil {
		t.Fatal(err)
	}
	var c net.Conn = raw
	if sv.Settings.TLS {
		tc := tls.Client(raw, &tls.Config{InsecureSkipVerify: true, ServerName: "example.test"})
		if err := tc.Handshake(); err != nil {
			return ""
		}
		c = tc
	}
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n", extra)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func hdr(t *testing.T, version int, src string) string {
	t.Helper()
	h, err := proxyproto.Header(version, netip.MustParseAddrPort(src), netip.MustParseAddrPort("198.51.100.1:443"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// The request's RemoteAddr and client IP are the header's source, for the
// plain HTTP/1.1 engine, TLS (header before the handshake) and h2c; a
// header from an untrusted peer gets no answer; a trusted peer whose
// header is optional may also connect without one.
func TestProxyProtocolClientAddress(t *testing.T) {
	trusted := NewProxyAccept([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, 0, false)
	modes := map[string]Settings{
		"plain": {Name: "p", ReadHeader: 5 * time.Second, ProxyProtocol: trusted},
		"tls":   {Name: "s", TLS: true, MinTLSVersion: tls.VersionTLS12, ReadHeader: 5 * time.Second, ProxyProtocol: trusted},
		"h2c":   {Name: "c", H2C: true, ReadHeader: 5 * time.Second, ProxyProtocol: trusted},
	}
	for name, s := range modes {
		t.Run(name, func(t *testing.T) {
			sv := proxyServer(t, s, TrustedProxies{})
			if got := ask(t, sv, hdr(t, 1, "203.0.113.9:1234"), ""); got != "203.0.113.9:1234 203.0.113.9" {
				t.Errorf("v1: %q", got)
			}
			if got := ask(t, sv, hdr(t, 2, "[2001:db8::7]:1234"), ""); got != "[2001:db8::7]:1234 2001:db8::7" {
				t.Errorf("v2: %q", got)
			}
			if got := ask(t, sv, "", ""); !strings.HasPrefix(got, "127.0.0.1:") {
				t.Errorf("no header: %q", got)
			}
			untrusted := s
			untrusted.ProxyProtocol = NewProxyAccept([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, 0, false)
			sv2 := proxyServer(t, untrusted, TrustedProxies{})
			if got := ask(t, sv2, hdr(t, 1, "203.0.113.9:1234"), ""); got != "" {
				t.Errorf("untrusted header answered: %q", got)
			}
		})
	}
}

// When the header's source is itself a trusted HTTP proxy, its
// X-Forwarded-For is believed as usual: the PROXY header only replaces
// the socket's peer.
func TestProxyProtocolThenForwardedFor(t *testing.T) {
	s := Settings{Name: "p", ReadHeader: 5 * time.Second, ProxyProtocol: NewProxyAccept([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, 0, true)}
	sv := proxyServer(t, s, NewTrustedProxies([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}))
	if got := ask(t, sv, hdr(t, 2, "10.0.0.5:1234"), "X-Forwarded-For: 192.0.2.33\r\n"); got != "10.0.0.5:1234 192.0.2.33" {
		t.Fatalf("got %q", got)
	}
	// The header's source is not a trusted HTTP proxy: its XFF is ignored.
	if got := ask(t, sv, hdr(t, 2, "203.0.113.9:1234"), "X-Forwarded-For: 192.0.2.33\r\n"); got != "203.0.113.9:1234 203.0.113.9" {
		t.Fatalf("got %q", got)
	}
	// Required: a trusted peer without a header gets no answer.
	if got := ask(t, sv, "", ""); got != "" {
		t.Fatalf("no header answered: %q", got)
	}
}

// A silent peer (whose header read would last the full minute of its
// timeout) does not hold up other connections: the header is read in the
// connection's goroutine, not in the accept loop.
func TestProxyProtocolSilentPeerDoesNotBlockAccept(t *testing.T) {
	for name, s := range map[string]Settings{
		"plain": {Name: "p", ReadHeader: 5 * time.Second},
		"tls":   {Name: "s", TLS: true, ReadHeader: 5 * time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			s.ProxyProtocol = NewProxyAccept([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, time.Minute, false)
			sv := proxyServer(t, s, TrustedProxies{})
			silent, err := net.Dial("tcp", sv.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer silent.Close()
			if got := ask(t, sv, hdr(t, 1, "203.0.113.9:1234"), ""); got != "203.0.113.9:1234 203.0.113.9" {
				t.Fatalf("got %q", got)
			}
		})
	}
}
