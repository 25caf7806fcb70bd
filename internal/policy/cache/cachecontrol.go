package cache

import (
	"net/http"
	"net/textproto"
	"strings"
)

// maxDelta caps delta-seconds values: RFC 9111 §1.2.2 says a value too
// large to represent is treated as 2^31 ("infinity" for caching purposes).
const maxDelta = 1 << 31

// directives is a parsed Cache-Control (request or response). Durations
// are in seconds; -1 means the directive is absent. Only the directives
// Gatehouse acts on are kept; others are ignored as RFC 9111 requires.
type directives struct {
	noStore, noCache, private, public bool
	mustRevalidate, proxyRevalidate   bool
	onlyIfCached, mustUnderstand      bool
	maxAge, sMaxAge                   int64
	// Request only: maxStale is -1 absent, maxDelta for "max-stale"
	// without a value (any staleness); minFresh -1 absent.
	maxStale, minFresh                 int64
	staleWhileRevalidate, staleIfError int64
	// withheld are the fields named by qualified no-cache="…" and
	// private="…" (canonical): the response may be stored and reused
	// without them (RFC 9111 §5.2.2.4, §5.2.2.7).
	withheld []string
}

// parseCacheControl parses every Cache-Control field line in values. It
// never fails: unknown directives are skipped, and a malformed number makes
// the directive 0 (the conservative reading: "stale now"). When a directive
// repeats, the first occurrence wins (RFC 9111 §4.2.1 allows either that
// or treating the response as stale).
//
// Qualified no-cache="field" and private="field" name fields that are
// withheld: the response is stored and reused without them (RFC 9111
// §5.2.2.4 and §5.2.2.7 allow exactly that to a shared cache), so a field
// the origin wanted withheld is never served from storage.
func parseCacheControl(values []string) directives {
	d := directives{maxAge: -1, sMaxAge: -1, staleWhileRevalidate: -1, staleIfError: -1, maxStale: -1, minFresh: -1}
	for _, v := range values {
		parseCacheControlLine(v, &d)
	}
	return d
}

func parseCacheControlLine(s string, d *directives) {
	for len(s) > 0 {
		// Directive name: up to '=', ',' or end.
		i := 0
		for i < len(s) && s[i] != '=' && s[i] != ',' {
			i++
		}
		name := textproto.TrimString(s[:i])
		var value string
		hasValue := false
		if i < len(s) && s[i] == '=' {
			hasValue = true
			s = s[i+1:]
			value, s = cutValue(s)
		} else {
			s = s[i:]
		}
		// Skip to after the next comma.
		if j := strings.IndexByte(s, ','); j >= 0 {
			s = s[j+1:]
		} else {
			s = ""
		}
		applyDirective(d, name, value, hasValue)
	}
}

// cutValue reads a directive value: a quoted-string (whose commas do not
// end the directive) or a token. It returns the unquoted value and the
// rest of s, positioned before the next ',' (if any).
func cutValue(s string) (value, rest string) {
	s = strings.TrimLeft(s, " \t")
	if len(s) > 0 && s[0] == '"' {
		var b strings.Builder
		escaped := false
		for i := 1; i < len(s); i++ {
			c := s[i]
			switch {
			case escaped:
				escaped = false
				b.WriteByte(c)
			case c == '\\':
				escaped = true
			case c == '"':
				return b.String(), s[i+1:]
			default:
				b.WriteByte(c)
			}
		}
		return b.String(), "" // unterminated: the rest was the value
	}
	i := strings.IndexByte(s, ',')
	if i < 0 {
		return textproto.TrimString(s), ""
	}
	return textproto.TrimString(s[:i]), s[i:]
}

func applyDirective(d *directives, name, value string, hasValue bool) {
	switch len(name) {
	case 6:
		if strings.EqualFold(name, "public") {
			d.public = true
		}
	case 7:
		if strings.EqualFold(name, "max-age") {
			setDelta(&d.maxAge, value, hasValue)
		} else if strings.EqualFold(name, "private") {
			if hasValue && value != "" {
				d.withheld = appendTokens(d.withheld, []string{value})
			} else {
				d.private = true
			}
		}
	case 8:
		if strings.EqualFold(name, "no-store") {
			d.noStore = true
		} else if strings.EqualFold(name, "no-cache") {
			if hasValue && value != "" {
				d.withheld = appendTokens(d.withheld, []string{value})
			} else {
				d.noCache = true
			}
		} else if strings.EqualFold(name, "s-maxage") {
			setDelta(&d.sMaxAge, value, hasValue)
		}
	case 9:
		if strings.EqualFold(name, "max-stale") {
			if !hasValue && d.maxStale < 0 {
				d.maxStale = maxDelta
			} else {
				setDelta(&d.maxStale, value, hasValue)
			}
		} else if strings.EqualFold(name, "min-fresh") {
			setDelta(&d.minFresh, value, hasValue)
		}
	case 14:
		if strings.EqualFold(name, "only-if-cached") {
			d.onlyIfCached = true
		} else if strings.EqualFold(name, "stale-if-error") {
			setDelta(&d.staleIfError, value, hasValue)
		}
	case 15:
		if strings.EqualFold(name, "must-revalidate") {
			d.mustRevalidate = true
		} else if strings.EqualFold(name, "must-understand") {
			d.mustUnderstand = true
		}
	case 16:
		if strings.EqualFold(name, "proxy-revalidate") {
			d.proxyRevalidate = true
		}
	case 22:
		if strings.EqualFold(name, "stale-while-revalidate") {
			setDelta(&d.staleWhileRevalidate, value, hasValue)
		}
	}
}

// setDelta stores a delta-seconds value unless the directive was already
// seen. A missing or malformed value reads as 0.
func setDelta(dst *int64, value string, hasValue bool) {
	if *dst >= 0 {
		return
	}
	*dst = 0
	if !hasValue || value == "" {
		return
	}
	var n int64
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c < '0' || c > '9' {
			return // malformed: stays 0
		}
		if n < maxDelta {
			n = n*10 + int64(c-'0')
		}
	}
	*dst = min(n, maxDelta)
}

// requestDirectives reads the request's Cache-Control, falling back to
// "Pragma: no-cache" when there is no Cache-Control (RFC 9111 §5.4).
func requestDirectives(h http.Header) directives {
	cc := h["Cache-Control"]
	d := parseCacheControl(cc)
	if len(cc) == 0 {
		for _, p := range h["Pragma"] {
			if strings.Contains(strings.ToLower(p), "no-cache") {
				d.noCache = true
			}
		}
	}
	return d
}
