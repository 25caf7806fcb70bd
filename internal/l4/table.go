package l4

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Match is the conditions of one L4 route: every non-empty list must hold
// (AND), and within a list any entry (OR). The zero Match matches every
// connection: a default route.
type Match struct {
	// SNI holds lower-case exact names or "*.example.com" wildcards, which
	// match one or more labels in front of the suffix (as Gateway API
	// hostnames do) but not the bare suffix.
	SNI []string
	// ALPN holds protocol names; any one offered by the client matches.
	ALPN []string
	// ClientIPs are the client ranges (after PROXY protocol).
	ClientIPs []netip.Prefix
	// DestinationPorts are the ports the client connected to.
	DestinationPorts []uint16
}

// Route is one L4 route: where matching connections go.
type Route struct {
	Name    string
	Match   Match
	Backend *Backend
	// IdleTimeout closes a TCP connection (or ends a UDP session) after
	// this long without a byte (datagram) either way; 0 = never.
	IdleTimeout time.Duration
	// Responses is how many datagrams a UDP request expects back before
	// its session may end (0 = fire and forget, as for syslog; -1 = any
	// number until IdleTimeout). TCP ignores it.
	Responses int
}

// Table holds a listener's routes in configuration order. It is immutable
// once built; a reload builds a new one.
type Table struct {
	routes []*Route
	// NeedsSNI is true when some route matches on SNI or ALPN, so the
	// listener must read the ClientHello before routing.
	NeedsSNI bool
}

// NewTable returns the table of routes (kept in order: it breaks ties).
func NewTable(routes []*Route) *Table {
	t := &Table{routes: routes}
	for _, r := range routes {
		if len(r.Match.SNI) > 0 || len(r.Match.ALPN) > 0 {
			t.NeedsSNI = true
		}
	}
	return t
}

// Routes returns the routes in order; the slice must not be modified.
func (t *Table) Routes() []*Route { return t.routes }

// Find returns the route for c, or nil when none matches. Among matching
// routes the most specific SNI wins (exact over wildcard, a longer
// wildcard suffix over a shorter one, any SNI condition over none, as in
// the Gateway API's TLSRoute precedence); ties go to the first listed.
func (t *Table) Find(c *Conn) *Route {
	var best *Route
	bestScore := -1
	for _, r := range t.routes {
		s := r.Match.score(c)
		if s > bestScore {
			best, bestScore = r, s
		}
	}
	return best
}

// score is -1 when m does not match c, else its SNI specificity.
func (m *Match) score(c *Conn) int {
	if len(m.ClientIPs) > 0 && !slices.ContainsFunc(m.ClientIPs, func(p netip.Prefix) bool { return p.Contains(c.Client.Addr().Unmap()) }) {
		return -1
	}
	if len(m.DestinationPorts) > 0 && !slices.Contains(m.DestinationPorts, c.Local.Port()) {
		return -1
	}
	if len(m.ALPN) > 0 && !slices.ContainsFunc(m.ALPN, func(p string) bool { return slices.Contains(c.ALPN, p) }) {
		return -1
	}
	if len(m.SNI) == 0 {
		return 0
	}
	best := -1
	for _, name := range m.SNI {
		if s := sniScore(name, c.SNI); s > best {
			best = s
		}
	}
	return best
}

// sniScore ranks how specifically pattern matches sni: -1 not at all,
// 1+len(suffix) for a wildcard, and above any wildcard for an exact name.
func sniScore(pattern, sni string) int {
	if sni == "" {
		return -1
	}
	if suffix, ok := strings.CutPrefix(pattern, "*"); ok {
		if len(sni) > len(suffix) && strings.HasSuffix(sni, suffix) {
			return 1 + len(suffix)
		}
		return -1
	}
	if pattern == sni {
		return 1 << 16
	}
	return -1
}
