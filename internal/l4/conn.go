package l4

import (
	"crypto/tls"
	"net/http"
	"net/netip"
)

// Conn is what routing knows about a new connection or UDP session.
type Conn struct {
	// Client is the peer, or the source a trusted PROXY protocol header
	// gave.
	Client netip.AddrPort
	// Local is the address the client connected to (or the PROXY header's
	// destination); its port is the "destination port" routes match.
	Local netip.AddrPort
	// SNI is the lower-cased server name of the TLS ClientHello, "" when
	// the client sent none or does not speak TLS.
	SNI string
	// ALPN lists the protocols the ClientHello offered, in its order.
	ALPN []string
}

// BalancerRequest is the request the pool's algorithm sees for c: its
// RemoteAddr is the client (hash on client_ip) and its TLS server name the
// SNI (hash on sni). Built once per connection, so the allocation does not
// matter next to the connection's own.
func (c *Conn) BalancerRequest() *http.Request {
	r := &http.Request{Host: c.SNI, Header: http.Header{}}
	if c.Client.IsValid() {
		r.RemoteAddr = c.Client.String()
	}
	if c.SNI != "" {
		r.TLS = &tls.ConnectionState{ServerName: c.SNI}
	}
	return r
}
