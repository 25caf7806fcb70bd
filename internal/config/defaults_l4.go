package config

import (
	"time"

	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
	"github.com/gatehouse/gatehouse/internal/l4/udpproxy"
)

// L4 defaults. The idle times follow the stream proxies users know:
// NGINX's proxy_timeout is 10m for TCP; UDP sessions of DNS-like
// services end quickly, so 30s (Envoy's udp_proxy idle_timeout default
// is 60s, NGINX's stream default 10m is far too long for a table of
// client sessions).
const (
	defaultTCPIdleTimeout = 10 * time.Minute
	defaultUDPIdleTimeout = udpproxy.DefaultIdleTimeout
	defaultUDPMaxSessions = udpproxy.DefaultMaxSessions
	defaultUDPResponses   = -1
)

// l4Defaults fills the L4 parts of listeners and routes.
func l4Defaults(c *Config, given func(any) bool) {
	for _, l := range c.Listeners {
		switch l.Protocol {
		case "tcp", "tls":
			if !given(&l.Timeouts.Idle) {
				l.Timeouts.Idle = defaultTCPIdleTimeout
			}
		case "udp":
			if !given(&l.Timeouts.Idle) {
				l.Timeouts.Idle = defaultUDPIdleTimeout
			}
			if !given(&l.MaxConnections) {
				l.MaxConnections = defaultUDPMaxSessions
			}
		}
		if l.TLS != nil && l.TLS.MinVersion == "" {
			l.TLS.MinVersion = defaultTLSMinVersion
		}
		if p := l.ProxyProtocol; p != nil && !given(&p.Timeout) {
			p.Timeout = proxyproto.DefaultTimeout
		}
	}
	for _, r := range c.L4Routes {
		if !given(&r.Responses) {
			r.Responses = defaultUDPResponses
		}
	}
}
