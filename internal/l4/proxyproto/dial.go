package proxyproto

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// DialContext wraps base so every connection it makes starts with a
// PROXY header of version (1 or 2): source client(ctx) — the client of the
// request being dialled for, invalid when unknown (then the header is
// v1 UNKNOWN / v2 LOCAL) — and destination the dialled peer. For the
// DialContext of an http.Transport in front of HTTPS upstreams (the header
// precedes the TLS handshake, spec §1).
//
// The integrator must set DisableKeepAlives on such a transport:
// net/http pools connections across requests of different clients, and a
// header binds a connection to one client for its whole life. net/http
// also dials with a context detached from the request (Go ≥ 1.23 keeps
// its values), so client must read the address from context values.
func DialContext(base func(ctx context.Context, network, addr string) (net.Conn, error), version int, client func(ctx context.Context) netip.AddrPort) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := base(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		dst, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		h, err := Header(version, client(ctx), dst, "", nil)
		if err == nil {
			_, err = c.Write(h)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("proxyproto: sending header to %s: %w", addr, err)
		}
		return c, nil
	}
}
