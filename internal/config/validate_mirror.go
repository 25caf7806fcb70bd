package config

import (
	"math"
	"net/url"
)

// requestMirror checks a request_mirror filter: its upstream exists and
// speaks HTTP, and its percent is a share of requests.
func (v *validator) requestMirror(m *RequestMirror, pos Pos, owner string, ups map[string]*Upstream, names []string) {
	if m.Pos.Line != 0 {
		pos = m.Pos
	}
	up := v.at(&m.Upstream, pos)
	switch u, ok := ups[m.Upstream]; {
	case m.Upstream == "":
		v.errorf(pos, owner, "add upstream: NAME (the upstream that gets the copies)", "request_mirror has no upstream")
	case !ok:
		v.errorf(up, owner, didYouMean(m.Upstream, names, "define it under upstreams:"), "upstream %q not found", m.Upstream)
	default:
		for _, t := range u.Targets {
			if pu, err := url.Parse(t.URL); err == nil && (pu.Scheme == "tcp" || pu.Scheme == "udp") {
				v.errorf(up, owner, "mirror to an upstream with http:// or https:// targets",
					"request_mirror upstream %q has %s target %s", u.Name, pu.Scheme, t.URL)
				break
			}
		}
	}
	if math.IsNaN(m.Percent) || m.Percent <= 0 || m.Percent > 100 {
		v.errorf(v.at(&m.Percent, pos), owner, "use a share above 0 and at most 100 (omit it for 100)",
			"request_mirror percent %v is out of range", m.Percent)
	}
}
