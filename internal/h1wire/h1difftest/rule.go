package h1difftest

import (
	"net/http"
	"strings"
)

// Rule is one deliberate difference between a Gatehouse parser and
// net/http: when Applies holds for an input, the two may disagree on
// whether to accept it. A rule never excuses two parsers that both accept
// a message with different framing or values.
type Rule struct {
	Name    string
	Applies func(m *Message) bool
}

// Match returns the name of the first rule in rules that applies to m, or
// "" if none does.
func Match(rules []Rule, m *Message) string {
	for _, r := range rules {
		if r.Applies(m) {
			return r.Name
		}
	}
	return ""
}

// CollapseOWS returns a copy of h with runs of SP and HTAB in every value
// collapsed to one SP. RFC 9112 section 5.2 lets a recipient replace an
// obs-fold by "one or more SP octets": net/http uses one, Gatehouse's
// client blanks the line break in place (no copy), so folded values
// compare equal only modulo the run length.
func CollapseOWS(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vv := range h {
		nv := make([]string, len(vv))
		for i, v := range vv {
			nv[i] = strings.Join(strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
		}
		out[k] = nv
	}
	return out
}

// NonEmpty returns h without keys that have no values (the announced
// trailer names both sides pre-populate with nil), or nil if none remain.
func NonEmpty(h http.Header) http.Header {
	var out http.Header
	for k, vv := range h {
		if len(vv) > 0 {
			if out == nil {
				out = make(http.Header)
			}
			out[k] = vv
		}
	}
	return out
}
