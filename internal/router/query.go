package router

import (
	"strings"
	"sync"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// queryValue finds the first occurrence of the parameter name in rawQuery and
// returns its still-encoded value. It follows url.ParseQuery exactly, so the
// router and any handler that parses the query agree on what "first" means:
// pairs are split on '&', pairs containing ';' or a malformed escape (in key or
// value) are skipped, and keys are compared after decoding ('+' is a space).
// It decodes while comparing, so it never allocates.
func queryValue(rawQuery, name string) (string, bool) {
	for q := rawQuery; q != ""; {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if !decodedEquals(k, name) || !validQueryEscapes(v) {
			continue
		}
		return v, true
	}
	return "", false
}

// decodedEquals reports whether the query component enc decodes to want. It
// is false for a malformed escape.
func decodedEquals(enc, want string) bool {
	j := 0
	for i := 0; i < len(enc); j++ {
		c := enc[i]
		switch c {
		case '+':
			c = ' '
			i++
		case '%':
			if i+2 >= len(enc) {
				return false
			}
			hi, ok1 := h1wire.Unhex(enc[i+1])
			lo, ok2 := h1wire.Unhex(enc[i+2])
			if !ok1 || !ok2 {
				return false
			}
			c = hi<<4 | lo
			i += 3
		default:
			i++
		}
		if j >= len(want) || want[j] != c {
			return false
		}
	}
	return j == len(want)
}

func validQueryEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) {
				return false
			}
			if _, ok := h1wire.Unhex(s[i+1]); !ok {
				return false
			}
			if _, ok := h1wire.Unhex(s[i+2]); !ok {
				return false
			}
			i += 2
		}
	}
	return true
}

// decodeBufs recycles buffers for regex matches on encoded query values: the
// regexp package needs the decoded bytes, and a pooled heap buffer is the only
// way to give them to it without allocating per request.
var decodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 128); return &b }}

// matchQuery reports whether the parameter is present and its first value
// matches once decoded.
func (m *valueMatcher) matchQuery(rawQuery string) bool {
	v, ok := queryValue(rawQuery, m.name)
	if !ok {
		return false
	}
	switch m.typ {
	case ValuePresent:
		return true
	case ValueExact:
		return decodedEquals(v, m.value)
	case ValueRegex:
		if strings.IndexByte(v, '%') < 0 && strings.IndexByte(v, '+') < 0 {
			return m.re.MatchString(v)
		}
		bp := decodeBufs.Get().(*[]byte)
		b := (*bp)[:0]
		for i := 0; i < len(v); i++ {
			switch c := v[i]; c {
			case '+':
				b = append(b, ' ')
			case '%': // validated by queryValue
				hi, _ := h1wire.Unhex(v[i+1])
				lo, _ := h1wire.Unhex(v[i+2])
				b = append(b, hi<<4|lo)
				i += 2
			default:
				b = append(b, c)
			}
		}
		ok = m.re.Match(b)
		*bp = b
		decodeBufs.Put(bp) // the GC empties pools, so one huge value is not pinned
		return ok
	}
	return false
}
