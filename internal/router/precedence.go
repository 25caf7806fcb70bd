package router

import "cmp"

// pathRank orders path kinds within a host bucket: exact paths are the most
// specific, then templates (fixed segments plus holes), then regexes, then
// prefixes, as the Gateway API orders HTTPRoute matches (regex placement is
// implementation-specific there; this is Gatehouse's documented choice).
func pathRank(t PathType) int {
	switch t {
	case PathExact:
		return 0
	case PathTemplate:
		return 1
	case PathRegex:
		return 2
	default:
		return 3
	}
}

// comparePrecedence orders two candidates of the same host bucket so that the
// first full match in a sorted bucket is the one the Gateway API would pick.
// Host precedence is not here: it is the order in which buckets are visited.
func comparePrecedence(a, b *candidate) int {
	if c := cmp.Compare(pathRank(a.path.typ), pathRank(b.path.typ)); c != 0 {
		return c
	}
	// Longer prefix / regex, more literal template text first.
	if c := cmp.Compare(b.path.specificity, a.path.specificity); c != 0 {
		return c
	}
	// "/a/{x}" before "/a/{x...}": with the same fixed text, the template that
	// accepts fewer paths is the more specific one.
	if a.path.typ == PathTemplate {
		if c := cmp.Compare(boolInt(a.path.tmpl.catchAll), boolInt(b.path.tmpl.catchAll)); c != 0 {
			return c
		}
	}
	if c := cmp.Compare(boolInt(len(b.methods) > 0), boolInt(len(a.methods) > 0)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.headers), len(a.headers)); c != 0 {
		return c
	}
	if c := cmp.Compare(len(b.query), len(a.query)); c != 0 {
		return c
	}
	// Configuration order decides the rest; the match index only makes the
	// order total so template captures are deterministic.
	if c := cmp.Compare(a.rule, b.rule); c != 0 {
		return c
	}
	return cmp.Compare(a.match, b.match)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
