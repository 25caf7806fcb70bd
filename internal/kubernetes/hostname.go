package kubernetes

import "strings"

// intersect returns the hostnames a route serves on a listener, per the
// Gateway API: a listener without hostname takes the route's; a route
// without hostnames takes the listener's; otherwise each route hostname
// is kept when it equals or falls under the listener's wildcard, and a
// route wildcard covering the listener's name yields the listener's name.
// ok is false when route and listener share no name. A nil result with
// ok means "any host".
func intersect(listener string, route []string) ([]string, bool) {
	if listener == "" {
		return route, true
	}
	if len(route) == 0 {
		return []string{listener}, true
	}
	var out []string
	for _, r := range route {
		switch {
		case r == listener:
			out = append(out, r)
		case covers(listener, r):
			out = append(out, r)
		case covers(r, listener):
			out = append(out, listener)
		}
	}
	return out, len(out) > 0
}

// covers reports whether wildcard pattern w ("*.example.com") covers h
// (a name or a narrower wildcard): "*" stands for one or more labels.
func covers(w, h string) bool {
	if !strings.HasPrefix(w, "*.") {
		return false
	}
	suffix := w[1:] // ".example.com"
	return strings.HasSuffix(h, suffix) && len(h) > len(suffix) && h != w
}
