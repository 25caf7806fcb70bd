package kubernetes

import (
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Listener isolation (GatewayHTTPListenerIsolation, Gateway API
// ListenerConditionReason docs and GEP-1713): a request is handled only by
// the routes of the most specific listener whose hostname matches its
// Host, so a route attached to a listener without hostname (or with
// "*.example.com") never serves a host that another listener on the same
// port names more specifically ("*.foo.example.com", "abc.example.com").
//
// Gatehouse has one listener per port, and its router already visits the
// host buckets from the most to the least specific (exact host, longer
// wildcard suffixes, then routes without hosts) but falls through to the
// next bucket when no route of a bucket matches. The translator closes
// both gaps without run-time support:
//
//  1. isolate drops from a route's hostnames, on listener L, the patterns
//     that a more specific listener on the same port covers entirely (all
//     their hosts belong to it). A route left without hostname is
//     attached but routes nothing.
//  2. isolationRoutes adds, for each such more specific listener hostname,
//     a last route matching that host and any path that answers 404, as
//     Gatehouse does when no route matches. It ranks below every route of
//     the bucket (prefix "/" without conditions, and later in
//     configuration order than any route with the same match), so the
//     listener's own routes win and nothing falls through to a less
//     specific listener's routes.
//
// Listeners of every Gateway sharing the port are considered together,
// as Gatehouse serves them on one socket; Ingress rules are not
// listeners: an Ingress rule without host does not get the hosts that a
// Gateway listener on port 80 or 443 isolates.

// isolationFamily reports whether a Gateway listener family routes by Host.
func isolationFamily(f string) bool { return f == "http" || f == "https" }

// moreSpecific reports whether listener hostname h is more specific than
// base: base is empty (any host) and h is not, or base is a wildcard
// covering h.
func moreSpecific(h, base string) bool {
	return h != "" && (base == "" || covers(base, h))
}

// isolate removes from hosts (a route's hostnames on gl, as intersect
// returned them; nil = any) the patterns whose every host belongs to a
// more specific listener on the same Gatehouse listener. ok is false when
// nothing is left.
func (t *translator) isolate(gl *gwListener, hosts []string) ([]string, bool) {
	if !isolationFamily(gl.family) || len(hosts) == 0 { // none = any host
		return hosts, true
	}
	base := hostnameOf(gl.spec.Hostname)
	var out []string
	for _, h := range hosts {
		if !slices.ContainsFunc(t.listeners, func(o *gwListener) bool {
			oh := hostnameOf(o.spec.Hostname)
			return o.ok && o.glName == gl.glName && isolationFamily(o.family) &&
				moreSpecific(oh, base) && (oh == h || covers(oh, h))
		}) {
			out = append(out, h)
		}
	}
	return out, len(out) > 0
}

// isolationRoutes appends the 404 routes of step 2, one per Gatehouse
// listener and hostname that has a less specific listener beside it.
func (t *translator) isolationRoutes() {
	type key struct{ listener, host string }
	seen := map[key]bool{}
	for _, gl := range t.listeners {
		h := hostnameOf(gl.spec.Hostname)
		k := key{gl.glName, h}
		if !gl.ok || !isolationFamily(gl.family) || h == "" || seen[k] {
			continue
		}
		if !slices.ContainsFunc(t.listeners, func(o *gwListener) bool {
			return o.ok && o.glName == gl.glName && isolationFamily(o.family) && moreSpecific(h, hostnameOf(o.spec.Hostname))
		}) {
			continue
		}
		seen[k] = true
		t.cfg.Routes = append(t.cfg.Routes, &config.Route{
			Name:      joinName("isolation", gl.glName, len(seen)),
			Listeners: []string{gl.glName},
			Match:     &config.Match{Hosts: []string{h}, Path: &config.PathMatch{Prefix: "/"}},
			Respond: &config.Respond{Status: 404,
				Headers: map[string]string{"Content-Type": "application/problem+json", "Cache-Control": "no-store"},
				Body:    fmt.Sprintf(`{"type":"about:blank","title":"Not Found","status":404,"detail":"no route of the listener for %s matches this request"}`, h) + "\n"},
		})
	}
}
