package router

import (
	"fmt"
	"regexp"
	"strings"
)

// pathMatcher is a compiled PathMatch.
type pathMatcher struct {
	typ PathType
	// value is the normalised exact path, or the normalised prefix without its
	// trailing '/', so that "/" becomes "" and matches every path.
	value string
	re    *regexp.Regexp
	tmpl  *template
	// specificity orders matchers of the same type, higher first: length for
	// exact, prefix and regex, literal bytes for templates.
	specificity int
	// firstSeg is the first path segment every matching path has, when
	// hasFirstSeg; buckets index candidates by it (see bucket).
	firstSeg    string
	hasFirstSeg bool
}

func compilePath(p PathMatch) (pathMatcher, error) {
	m := pathMatcher{typ: p.Type}
	switch p.Type {
	case PathPrefix, PathExact:
		v := p.Value
		if v == "" && p.Type == PathPrefix {
			v = "/"
		}
		// Configured paths get the same canonical spelling as requests, so a
		// route written "/caf%c3%a9" or "/café" still matches.
		n, err := Normalize(v)
		if err != nil {
			return m, fmt.Errorf("%s %q: %w", p.Type, p.Value, err)
		}
		if p.Type == PathPrefix {
			n = strings.TrimSuffix(n, "/")
		}
		m.value, m.specificity = n, len(n)
		// Prefix "" (root) matches any first segment; the others fix it.
		if n != "" {
			m.firstSeg, m.hasFirstSeg = firstSegment(n), true
		}
	case PathRegex:
		re, lit, complete, err := compileFullPrefix(p.Value)
		if err != nil {
			return m, fmt.Errorf("regex %q: %w", p.Value, err)
		}
		m.re, m.specificity = re, len(p.Value)
		// Every match starts with lit; if lit holds a whole first segment
		// (or is the whole match), that segment is fixed.
		if strings.HasPrefix(lit, "/") && (complete || strings.IndexByte(lit[1:], '/') >= 0) {
			m.firstSeg, m.hasFirstSeg = firstSegment(lit), true
		}
	case PathTemplate:
		t, err := compileTemplate(p.Value)
		if err != nil {
			return m, fmt.Errorf("template %q: %w", p.Value, err)
		}
		m.tmpl, m.specificity = t, t.literal
		if s := t.segs[0]; s.param == "" {
			m.firstSeg, m.hasFirstSeg = s.lit, true
		}
	default:
		return m, fmt.Errorf("unknown path type %d", p.Type)
	}
	return m, nil
}

// match reports whether the normalised path matches, capturing template
// parameters into params when it is not nil.
func (m *pathMatcher) match(path string, params *Params) bool {
	switch m.typ {
	case PathPrefix:
		// Segment boundary: "/v1/users" matches "/v1/users" and "/v1/users/…"
		// but not "/v1/usersX".
		return len(path) >= len(m.value) && path[:len(m.value)] == m.value &&
			(len(path) == len(m.value) || path[len(m.value)] == '/')
	case PathExact:
		return path == m.value
	case PathRegex:
		return m.re.MatchString(path)
	case PathTemplate:
		return m.tmpl.match(path, params)
	}
	return false
}

// firstSegment returns the first segment of a path that starts with "/":
// "/v1/users" → "v1", "/" → "".
func firstSegment(path string) string {
	s := path[1:]
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	return s
}
