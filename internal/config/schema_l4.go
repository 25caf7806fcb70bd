package config

import (
	"net/netip"
	"time"
)

// L4Route sends TCP, TLS or UDP connections (sessions) to an upstream,
// chosen by what is known before the first byte is forwarded: the TLS
// server name and ALPN offered, the client address and the port the
// client connected to.
type L4Route struct {
	Pos  Pos    `yaml:"-"`
	Name string `yaml:"name"`
	// Listeners names tcp, tls, udp or https listeners; empty means every
	// tcp, tls and udp listener (an https listener is only ever attached
	// by name: its routes pass matching TLS connections through untouched
	// and leave the rest to the HTTP routes).
	Listeners []string `yaml:"listeners"`
	// Match is nil for a default route.
	Match *L4Match `yaml:"match"`
	// Upstream names the pool; its targets are tcp:// (or http(s)://, by
	// host:port) for TCP routes and udp:// for UDP routes.
	Upstream string `yaml:"upstream"`
	// IdleTimeout overrides the listener's timeouts.idle when given.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// Responses is how many datagrams a UDP request expects back (UDP
	// only; 0 = none, -1 = any number until the session is idle).
	Responses int `yaml:"responses"`
}

// L4Match is one set of conditions that must all hold; each list matches
// when any of its entries does.
type L4Match struct {
	Pos Pos `yaml:"-"`
	// SNI holds lower-cased server names or "*.example.com" wildcards.
	SNI  []string `yaml:"sni"`
	ALPN []string `yaml:"alpn"`
	// ClientIPs: bare addresses become /32 or /128 prefixes.
	ClientIPs        []netip.Prefix `yaml:"client_ips"`
	DestinationPorts []int          `yaml:"destination_ports"`
}

// ProxyProtocolAccept lets trusted peers (an L4 balancer in front) tell
// the client's address with a PROXY protocol v1 or v2 header.
type ProxyProtocolAccept struct {
	Pos Pos `yaml:"-"`
	// Trusted peers may send a header; a header from anyone else is
	// refused and the connection closed.
	Trusted []netip.Prefix `yaml:"trusted"`
	// Timeout bounds how long a trusted peer may take to send it.
	Timeout time.Duration `yaml:"timeout"`
	// Required refuses trusted peers that send no header.
	Required bool `yaml:"required"`
}
