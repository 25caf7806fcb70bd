package config

import (
	"strings"
	"testing"
	"time"
)

// l4Base has a tcp and a udp listener and one upstream of each kind.
const l4Base = `listeners:
  - {name: t, address: "127.0.0.1:9000", protocol: tcp}
  - {name: u, address: "127.0.0.1:9001", protocol: udp}
  - {name: web, address: "127.0.0.1:9002"}
upstreams:
  - {name: db, targets: [{url: "tcp://127.0.0.1:5432"}]}
  - {name: dns, targets: [{url: "udp://127.0.0.1:53"}]}
  - {name: api, targets: [{url: "http://127.0.0.1:8080"}]}
`

func TestL4Valid(t *testing.T) {
	c := mustParse(t, l4Base+`l4_routes:
  - name: pg
    listeners: [t]
    match: {sni: ["DB.Example.com.", "*.example.com"], client_ips: [10.0.0.1], destination_ports: [9000]}
    upstream: db
  - {name: fallback, listeners: [t], upstream: api}
  - {name: resolver, listeners: [u], upstream: dns, responses: 1}
`)
	if got := c.L4Routes[0].Match.SNI; got[0] != "db.example.com" || got[1] != "*.example.com" {
		t.Errorf("sni not normalised: %q", got)
	}
	if got := c.L4Routes[0].Match.ClientIPs[0].String(); got != "10.0.0.1/32" {
		t.Errorf("client_ips = %s", got)
	}
	if c.Listeners[0].Timeouts.Idle != defaultTCPIdleTimeout || c.Listeners[1].Timeouts.Idle != defaultUDPIdleTimeout {
		t.Errorf("idle defaults: tcp %s udp %s", c.Listeners[0].Timeouts.Idle, c.Listeners[1].Timeouts.Idle)
	}
	if c.Listeners[1].MaxConnections != defaultUDPMaxSessions || c.Listeners[0].MaxConnections != 0 {
		t.Errorf("max_connections defaults: %d %d", c.Listeners[0].MaxConnections, c.Listeners[1].MaxConnections)
	}
	if c.L4Routes[1].Responses != -1 || c.L4Routes[2].Responses != 1 {
		t.Errorf("responses: %d %d", c.L4Routes[1].Responses, c.L4Routes[2].Responses)
	}
}

func TestL4ProxyProtocolDefaults(t *testing.T) {
	c := mustParse(t, `listeners:
  - name: a
    address: ":1"
    proxy_protocol: {trusted: [10.0.0.0/8]}
`)
	if p := c.Listeners[0].ProxyProtocol; p == nil || p.Timeout != 500*time.Millisecond || p.Required {
		t.Errorf("proxy_protocol = %+v", p)
	}
}

func TestL4Errors(t *testing.T) {
	route := func(s string) string { return l4Base + "l4_routes:\n" + s }
	cases := []struct{ name, src, want string }{
		{"unknown upstream", route("  - {name: r, upstream: nope}\n"),
			`gatehouse.yaml:10: l4 route "r": upstream "nope" not found (define it under upstreams:)`},
		{"no upstream", route("  - {name: r, listeners: [t]}\n"),
			`gatehouse.yaml:10: l4 route "r": l4 route has no upstream (add upstream: NAME)`},
		{"http listener", route("  - {name: r, listeners: [web], upstream: db}\n"),
			`gatehouse.yaml:10: l4 route "r": listener "web" is an http listener (attach HTTP traffic with routes:, or use a tcp listener)`},
		{"udp target on tcp", route("  - {name: r, listeners: [t], upstream: dns}\n"),
			`gatehouse.yaml:10: l4 route "r": target udp://127.0.0.1:53 cannot serve a TCP route (give upstream "dns" targets as tcp://host:port)`},
		{"tcp target on udp", route("  - {name: r, listeners: [u], upstream: db}\n"),
			`gatehouse.yaml:10: l4 route "r": target tcp://127.0.0.1:5432 cannot serve a udp route (give upstream "db" targets as udp://host:port)`},
		{"sni on udp", route("  - {name: r, listeners: [u], upstream: dns, match: {sni: [a.example]}}\n"),
			`gatehouse.yaml:10: l4 route "r": sni and alpn cannot be matched on a udp listener (match udp sessions by client_ips or destination_ports)`},
		{"bad sni", route("  - {name: r, listeners: [t], upstream: db, match: {sni: [\"a.*.example\"]}}\n"),
			`gatehouse.yaml:10: l4 route "r": invalid sni "a.*.example" (use a DNS name or a wildcard such as "*.example.com")`},
		{"port range", route("  - {name: r, listeners: [t], upstream: db, match: {destination_ports: [0]}}\n"),
			`gatehouse.yaml:10: l4 route "r": destination port 0 is out of range (use a port between 1 and 65535)`},
		{"empty match", route("  - {name: r, listeners: [t], upstream: db, match: {}}\n"),
			`gatehouse.yaml:10: l4 route "r": match has no conditions (remove match: for a default route, or add a condition)`},
		{"two defaults", route("  - {name: r, listeners: [t], upstream: db}\n  - {name: s, listeners: [t], upstream: db}\n"),
			`gatehouse.yaml:11: l4 route "s": listener "t" already has a default route (first default at gatehouse.yaml:10; give one of them a match:)`},
		{"responses on tcp", route("  - {name: r, listeners: [t], upstream: db, responses: 2}\n"),
			`gatehouse.yaml:10: l4 route "r": invalid responses 2 (responses is for udp routes: 0 (none), N, or -1 (until idle))`},
		{"upstream proxy version", strings.Replace(l4Base, `{name: db,`, `{name: db, proxy_protocol: v3,`, 1),
			`gatehouse.yaml:6: upstream "db": unknown proxy_protocol "v3" (did you mean "v1"?)`},
		{"udp v1", strings.Replace(l4Base, `{name: dns,`, `{name: dns, proxy_protocol: v1,`, 1) + "l4_routes:\n  - {name: r, listeners: [u], upstream: dns}\n",
			`gatehouse.yaml:10: l4 route "r": upstream "dns" sends PROXY v1 to a udp route (use proxy_protocol: v2 (v1 has no datagram form))`},
		{"http route to tcp", l4Base + "routes:\n  - {name: h, backend: {upstream: db}}\n",
			`gatehouse.yaml:10: route "h": upstream "db" has tcp target tcp://127.0.0.1:5432 (give HTTP upstreams http:// or https:// targets)`},
		{"http route on tcp listener", l4Base + "routes:\n  - {name: h, listeners: [t], backend: {upstream: api}}\n",
			`gatehouse.yaml:10: route "h": listener "t" is a tcp listener (attach it with l4_routes:, or name an http or https listener)`},
		{"target port", strings.Replace(l4Base, `tcp://127.0.0.1:5432`, `tcp://db.internal`, 1),
			`gatehouse.yaml:6: upstream "db": target URL "tcp://db.internal" needs a port (write tcp://db.internal:PORT)`},
		{"udp check", strings.Replace(l4Base, `{name: dns,`, `{name: dns, health_check: {type: tcp},`, 1),
			`gatehouse.yaml:7: upstream "dns": udp targets cannot take a tcp health check (use type: udp with send: "...")`},
		{"udp check send", strings.Replace(l4Base, `{name: dns,`, `{name: dns, health_check: {type: udp},`, 1),
			`gatehouse.yaml:7: upstream "dns": a udp health check needs send (add send: "ping" (the datagram to send))`},
		{"proxy untrusted", "listeners:\n  - name: a\n    address: \":1\"\n    proxy_protocol: {timeout: 1s}\n",
			`gatehouse.yaml:4: listener "a": proxy_protocol needs trusted peers (add trusted: [10.0.0.0/8], the load balancers that send the header)`},
		{"proxy timeout", "listeners:\n  - name: a\n    address: \":1\"\n    proxy_protocol: {trusted: [127.0.0.1], timeout: 1m}\n",
			`gatehouse.yaml:4: listener "a": proxy_protocol timeout 1m0s must be above 0 and at most 5s (use a short bound such as 500ms)`},
		{"proxy on udp", "listeners:\n  - name: a\n    address: \":1\"\n    protocol: udp\n    proxy_protocol: {trusted: [127.0.0.1]}\n",
			`gatehouse.yaml:5: listener "a": proxy_protocol is not accepted on udp listeners (remove proxy_protocol; it is accepted on tcp, tls, http and https listeners)`},
		{"tls needs certs", "listeners:\n  - {name: a, address: \":1\", protocol: tls}\n",
			`gatehouse.yaml:2: listener "a": tls listener needs tls (add tls: {certificates: [{cert_file: ..., key_file: ...}]})`},
		{"max connections http", "listeners:\n  - {name: a, address: \":1\", max_connections: 5}\n",
			`gatehouse.yaml:2: listener "a": max_connections applies to tcp, tls and udp listeners (cap HTTP traffic with a concurrency_limit policy)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.src, c.want) })
	}
}
