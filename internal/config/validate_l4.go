package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

var (
	upstreamProxyProtocols = []string{"v1", "v2"}
	// maxProxyHeaderTimeout keeps the PROXY header wait short: a client
	// that does not speak the protocol waits this long for nothing.
	maxProxyHeaderTimeout = 5 * time.Second
)

// isHTTPListener reports whether l serves HTTP (and HTTP routes).
func isHTTPListener(l *Listener) bool { return l.Protocol == "http" || l.Protocol == "https" }

// l4Listener checks the settings L4 listeners add (PROXY protocol accept
// applies to every TCP-based listener).
func (v *validator) l4Listener(l *Listener, owner string) {
	if l.MaxConnections < 0 {
		v.errorf(v.at(&l.MaxConnections, l.Pos), owner, "use 0 for no cap", "max_connections must not be negative")
	}
	if l.MaxConnections > 0 && isHTTPListener(l) {
		v.errorf(v.at(&l.MaxConnections, l.Pos), owner, "cap HTTP traffic with a concurrency_limit policy",
			"max_connections applies to tcp, tls and udp listeners")
	}
	p := l.ProxyProtocol
	if p == nil {
		return
	}
	pos := v.at(&l.ProxyProtocol, l.Pos)
	if l.Protocol == "udp" {
		v.errorf(pos, owner, "remove proxy_protocol; it is accepted on tcp, tls, http and https listeners",
			"proxy_protocol is not accepted on udp listeners")
	}
	if len(p.Trusted) == 0 {
		v.errorf(pos, owner, "add trusted: [10.0.0.0/8], the load balancers that send the header",
			"proxy_protocol needs trusted peers")
	}
	if p.Timeout <= 0 || p.Timeout > maxProxyHeaderTimeout {
		v.errorf(v.at(&p.Timeout, pos), owner, "use a short bound such as 500ms",
			"proxy_protocol timeout %s must be above 0 and at most %s", p.Timeout, maxProxyHeaderTimeout)
	}
}

// l4Routes checks l4_routes against the listeners and upstreams.
func (v *validator) l4Routes(c *Config, upstreams []string) {
	first := make(map[string]Pos)
	byName := make(map[string]*Listener)
	var l4Names []string
	for _, l := range c.Listeners {
		byName[l.Name] = l
		if l.Protocol != "http" {
			l4Names = append(l4Names, l.Name)
		}
	}
	ups := make(map[string]*Upstream)
	for _, u := range c.Upstreams {
		ups[u.Name] = u
	}
	defaults := make(map[string]Pos) // listener → its default route
	for _, r := range c.L4Routes {
		v.name("l4 route", r.Name, r.Pos, &r.Name, first)
		owner := label("l4 route", r.Name)
		attached := v.l4Attach(c, r, owner, byName, l4Names)
		v.l4Match(r, owner, attached)
		v.l4Upstream(r, owner, attached, ups, upstreams)
		if r.IdleTimeout < 0 {
			v.errorf(v.at(&r.IdleTimeout, r.Pos), owner, "use 0 for no idle limit", "idle_timeout must not be negative")
		}
		if r.Match == nil {
			for _, l := range attached {
				if prev, dup := defaults[l.Name]; dup {
					v.errorf(r.Pos, owner, "first default at "+prev.String()+"; give one of them a match:",
						"listener %q already has a default route", l.Name)
				}
				defaults[l.Name] = r.Pos
			}
		}
	}
	v.httpRoutesOnL4(c, byName)
}

// l4Attach resolves the listeners a route attaches to.
func (v *validator) l4Attach(c *Config, r *L4Route, owner string, byName map[string]*Listener, l4Names []string) []*Listener {
	var out []*Listener
	if len(r.Listeners) == 0 {
		for _, l := range c.Listeners {
			if l.Protocol == "tcp" || l.Protocol == "tls" || l.Protocol == "udp" {
				out = append(out, l)
			}
		}
		if len(out) == 0 {
			v.errorf(r.Pos, owner, "add a listener with protocol: tcp, tls or udp, or name an https listener",
				"no tcp, tls or udp listener to attach to")
		}
		return out
	}
	for i, name := range r.Listeners {
		p := v.at(&r.Listeners[i], r.Pos)
		l, ok := byName[name]
		switch {
		case !ok:
			v.errorf(p, owner, didYouMean(name, l4Names, "define it under listeners:"), "listener %q not found", name)
		case l.Protocol == "http":
			v.errorf(p, owner, "attach HTTP traffic with routes:, or use a tcp listener",
				"listener %q is an http listener", name)
		case slices.Contains(out, l):
			v.errorf(p, owner, "remove the duplicate", "listener %q is listed twice", name)
		default:
			out = append(out, l)
		}
	}
	return out
}

func (v *validator) l4Match(r *L4Route, owner string, attached []*Listener) {
	m := r.Match
	udp := slices.ContainsFunc(attached, func(l *Listener) bool { return l.Protocol == "udp" })
	https := slices.ContainsFunc(attached, func(l *Listener) bool { return l.Protocol == "https" })
	if m == nil {
		if https {
			v.errorf(r.Pos, owner, "add match: {sni: [name]}: other names stay with the HTTP routes",
				"a route on an https listener must match sni")
		}
		return
	}
	pos := v.at(&r.Match, r.Pos)
	if https && len(m.SNI) == 0 {
		v.errorf(pos, owner, "add sni: [name]: other names stay with the HTTP routes",
			"a route on an https listener must match sni")
	}
	if udp && (len(m.SNI) > 0 || len(m.ALPN) > 0) {
		v.errorf(pos, owner, "match udp sessions by client_ips or destination_ports",
			"sni and alpn cannot be matched on a udp listener")
	}
	for i, name := range m.SNI {
		p := v.at(&m.SNI[i], pos)
		name = strings.TrimSuffix(strings.ToLower(name), ".")
		m.SNI[i] = name
		host := strings.TrimPrefix(name, "*.")
		if !ValidHostname(host) || strings.Contains(host, "*") {
			v.errorf(p, owner, `use a DNS name or a wildcard such as "*.example.com"`, "invalid sni %q", name)
		}
	}
	for i, a := range m.ALPN {
		if a == "" || len(a) > 255 {
			v.errorf(v.at(&m.ALPN[i], pos), owner, "use a protocol id such as h2 or http/1.1", "invalid alpn %q", a)
		}
	}
	for i, port := range m.DestinationPorts {
		if port < 1 || port > 65535 {
			v.errorf(v.at(&m.DestinationPorts[i], pos), owner, "use a port between 1 and 65535",
				"destination port %d is out of range", port)
		}
	}
	if len(m.SNI)+len(m.ALPN)+len(m.ClientIPs)+len(m.DestinationPorts) == 0 {
		v.errorf(pos, owner, "remove match: for a default route, or add a condition", "match has no conditions")
	}
}

// l4Upstream checks the upstream exists and fits the route's transport.
func (v *validator) l4Upstream(r *L4Route, owner string, attached []*Listener, ups map[string]*Upstream, names []string) {
	p := v.at(&r.Upstream, r.Pos)
	u, ok := ups[r.Upstream]
	switch {
	case r.Upstream == "":
		v.errorf(r.Pos, owner, "add upstream: NAME", "l4 route has no upstream")
		return
	case !ok:
		v.errorf(p, owner, didYouMean(r.Upstream, names, "define it under upstreams:"), "upstream %q not found", r.Upstream)
		return
	}
	udp, tcp := false, false
	for _, l := range attached {
		udp = udp || l.Protocol == "udp"
		tcp = tcp || l.Protocol != "udp"
	}
	if udp && tcp {
		v.errorf(r.Pos, owner, "use one route per transport", "route is attached to both udp and TCP-based listeners")
	}
	if r.Responses < -1 || (r.Responses != -1 && !udp && v.given(&r.Responses)) {
		v.errorf(v.at(&r.Responses, r.Pos), owner, "responses is for udp routes: 0 (none), N, or -1 (until idle)",
			"invalid responses %d", r.Responses)
	}
	for _, t := range u.Targets {
		scheme, _, _ := strings.Cut(t.URL, "://")
		if (scheme == "udp") != udp {
			want := "tcp://host:port"
			if udp {
				want = "udp://host:port"
			}
			v.errorf(p, owner, fmt.Sprintf("give upstream %q targets as %s", u.Name, want),
				"target %s cannot serve a %s route", t.URL, map[bool]string{true: "udp", false: "TCP"}[udp])
			break
		}
	}
	if udp && u.ProxyProtocol == "v1" {
		v.errorf(p, owner, "use proxy_protocol: v2 (v1 has no datagram form)", "upstream %q sends PROXY v1 to a udp route", u.Name)
	}
}

// httpRoutesOnL4 refuses HTTP routes named on L4 listeners and HTTP routes
// sent to tcp:// or udp:// targets.
func (v *validator) httpRoutesOnL4(c *Config, byName map[string]*Listener) {
	ups := make(map[string]*Upstream)
	for _, u := range c.Upstreams {
		ups[u.Name] = u
	}
	for _, r := range c.Routes {
		owner := label("route", r.Name)
		for i, name := range r.Listeners {
			if l, ok := byName[name]; ok && !isHTTPListener(l) {
				v.errorf(v.at(&r.Listeners[i], r.Pos), owner, "attach it with l4_routes:, or name an http or https listener",
					"listener %q is a %s listener", name, l.Protocol)
			}
		}
		if r.Backend == nil {
			continue
		}
		if u, ok := ups[r.Backend.Upstream]; ok {
			for _, t := range u.Targets {
				if pu, err := url.Parse(t.URL); err == nil && (pu.Scheme == "tcp" || pu.Scheme == "udp") {
					v.errorf(v.at(&r.Backend.Upstream, r.Backend.Pos), owner, "give HTTP upstreams http:// or https:// targets",
						"upstream %q has %s target %s", u.Name, pu.Scheme, t.URL)
					break
				}
			}
		}
	}
}

// upstreamL4 checks the L4 settings of an upstream.
func (v *validator) upstreamL4(u *Upstream, owner string) {
	v.l4HealthCheck(u, owner)
	if u.ProxyProtocol != "" {
		v.oneOf(v.at(&u.ProxyProtocol, u.Pos), owner, "proxy_protocol", u.ProxyProtocol, upstreamProxyProtocols)
	}
	if u.MaxConnectionsPerTarget < 0 {
		v.errorf(v.at(&u.MaxConnectionsPerTarget, u.Pos), owner, "use 0 for no cap",
			"max_connections_per_target must not be negative")
	}
}

// l4HealthCheck checks that the check type fits the targets: udp targets
// are only probed with udp checks (which need a datagram to send).
func (v *validator) l4HealthCheck(u *Upstream, owner string) {
	hc := u.HealthCheck
	if hc == nil {
		return
	}
	p := v.at(&u.HealthCheck, u.Pos)
	udpTargets := slices.ContainsFunc(u.Targets, func(t *Target) bool { return strings.HasPrefix(t.URL, "udp://") })
	switch {
	case udpTargets && hc.Type != "udp":
		v.errorf(v.at(&hc.Type, p), owner, `use type: udp with send: "..."`, "udp targets cannot take a %s health check", hc.Type)
	case !udpTargets && hc.Type == "udp":
		v.errorf(v.at(&hc.Type, p), owner, "use type: tcp, tls or http", "a udp health check needs udp:// targets")
	case hc.Type == "udp" && hc.Send == "":
		v.errorf(p, owner, `add send: "ping" (the datagram to send)`, "a udp health check needs send")
	}
	if hc.Type != "udp" && (hc.Send != "" || hc.Expect != "") {
		v.errorf(p, owner, "remove send and expect, or use type: udp", "send and expect are for udp health checks")
	}
}
