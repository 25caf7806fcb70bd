package proxyproto

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	pp "github.com/pires/go-proxyproto"
)

type clientKey struct{}

// An https upstream behind a PROXY-protocol listener sees the client
// DialContext names: the header goes out after the dial and before the
// TLS handshake, and net/http's dial context carries the request's values.
func TestDialContextHTTPSTransport(t *testing.T) {
	s := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.RemoteAddr)
	}))
	s.Listener = &pp.Listener{Listener: s.Listener, ConnPolicy: func(pp.ConnPolicyOptions) (pp.Policy, error) { return pp.REQUIRE, nil }}
	s.StartTLS()
	defer s.Close()
	var d net.Dialer
	tr := &http.Transport{
		DialContext: DialContext(d.DialContext, 2, func(ctx context.Context) netip.AddrPort {
			ap, _ := ctx.Value(clientKey{}).(netip.AddrPort)
			return ap
		}),
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		DisableKeepAlives: true, // a header binds a connection to one client
	}
	defer tr.CloseIdleConnections()
	for _, client := range []string{"203.0.113.9:1234", "[2001:db8::1]:80"} {
		ctx := context.WithValue(context.Background(), clientKey{}, netip.MustParseAddrPort(client))
		req, _ := http.NewRequestWithContext(ctx, "GET", s.URL, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != client {
			t.Fatalf("backend saw %q, want %q", b, client)
		}
	}
}
