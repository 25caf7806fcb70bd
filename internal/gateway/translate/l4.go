package translate

import (
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/l4"
	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
)

// IsL4Listener reports whether lc forwards connections rather than HTTP
// requests.
func IsL4Listener(lc *config.Listener) bool {
	return lc.Protocol == "tcp" || lc.Protocol == "tls" || lc.Protocol == "udp"
}

// L4RoutesByListener groups the L4 routes by the listeners they attach to
// (a route without listeners is on every tcp, tls and udp listener), in
// configuration order.
func L4RoutesByListener(cfg *config.Config) map[string][]*config.L4Route {
	out := map[string][]*config.L4Route{}
	for _, r := range cfg.L4Routes {
		names := r.Listeners
		if len(names) == 0 {
			for _, l := range cfg.Listeners {
				if IsL4Listener(l) {
					names = append(names, l.Name)
				}
			}
		}
		for _, n := range names {
			out[n] = append(out[n], r)
		}
	}
	return out
}

// L4Table builds a listener's route table; backend returns the backend of
// an upstream by name (built once per upstream and shared).
func L4Table(routes []*config.L4Route, idle time.Duration, backend func(string) *l4.Backend) *l4.Table {
	rs := make([]*l4.Route, 0, len(routes))
	for _, rc := range routes {
		r := &l4.Route{Name: rc.Name, Backend: backend(rc.Upstream), IdleTimeout: idle, Responses: rc.Responses}
		if rc.IdleTimeout > 0 {
			r.IdleTimeout = rc.IdleTimeout
		}
		if m := rc.Match; m != nil {
			r.Match = l4.Match{
				SNI: slices.Clone(m.SNI), ALPN: slices.Clone(m.ALPN), ClientIPs: slices.Clone(m.ClientIPs),
			}
			for _, p := range m.DestinationPorts {
				r.Match.DestinationPorts = append(r.Match.DestinationPorts, uint16(p))
			}
		}
		rs = append(rs, r)
	}
	return l4.NewTable(rs)
}

// L4Backend is how L4 routes reach upstream u's pool. report feeds
// connect outcomes to passive health checking.
func L4Backend(u *config.Upstream, pool *balancer.Pool, report func(*balancer.Target, bool)) *l4.Backend {
	return &l4.Backend{
		Upstream: u.Name, Pool: pool,
		ConnectTimeout:    u.ConnectTimeout,
		MaxConnsPerTarget: u.MaxConnectionsPerTarget,
		ProxyProtocol:     ProxyProtocolVersion(u.ProxyProtocol),
		Report:            func(t *balancer.Target, err error) { report(t, err != nil) },
	}
}

// ProxyProtocolVersion maps proxy_protocol (v1, v2 or "") to 1, 2 or 0.
func ProxyProtocolVersion(v string) int {
	switch v {
	case "v1":
		return 1
	case "v2":
		return 2
	}
	return 0
}

// ProxyAccept is a listener's PROXY protocol accept policy; nil when off.
func ProxyAccept(p *config.ProxyProtocolAccept) *proxyproto.AcceptConfig {
	if p == nil {
		return nil
	}
	return &proxyproto.AcceptConfig{Trusted: slices.Clone(p.Trusted), Timeout: p.Timeout, Required: p.Required}
}
