package router

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"regexp"
	"strings"
)

// compileFull compiles an RE2 expression that must match the whole input, as
// Gateway API regex matches do. The pattern is compiled alone first: wrapping
// an unbalanced pattern such as "a)|(.*" would otherwise silently unanchor it.
func compileFull(pattern string) (*regexp.Regexp, error) {
	re, _, _, err := compileFullPrefix(pattern)
	return re, err
}

// compileFullPrefix is compileFull that also returns the literal text every
// match starts with (taken from the unanchored form, where RE2 can see it),
// and whether that text is the whole match.
func compileFullPrefix(pattern string) (re *regexp.Regexp, prefix string, complete bool, err error) {
	plain, err := regexp.Compile(pattern)
	if err != nil {
		return nil, "", false, err
	}
	if re, err = regexp.Compile(`^(?:` + pattern + `)$`); err != nil {
		return nil, "", false, err
	}
	prefix, complete = plain.LiteralPrefix()
	return re, prefix, complete, nil
}

// valueMatcher is a compiled ValueMatch for a header or a query parameter.
type valueMatcher struct {
	name  string // canonical header key, or the decoded query parameter name
	typ   ValueType
	value string
	re    *regexp.Regexp
}

func compileValue(v ValueMatch, header bool) (valueMatcher, error) {
	m := valueMatcher{name: v.Name, typ: v.Type, value: v.Value}
	if v.Name == "" {
		return m, errors.New("empty name")
	}
	if header {
		if !isToken(v.Name) {
			return m, fmt.Errorf("%q is not a valid header name", v.Name)
		}
		// net/http stores header keys in canonical form, so one map lookup
		// finds the header whatever case the client used.
		m.name = textproto.CanonicalMIMEHeaderKey(v.Name)
	}
	switch v.Type {
	case ValueExact, ValuePresent:
	case ValueMediaType:
		if !header {
			return m, fmt.Errorf("%s: media_type matches headers only", v.Name)
		}
	case ValueRegex:
		re, err := compileFull(v.Value)
		if err != nil {
			return m, fmt.Errorf("%s regex %q: %w", v.Name, v.Value, err)
		}
		m.re = re
	default:
		return m, fmt.Errorf("%s: unknown match type %d", v.Name, v.Type)
	}
	return m, nil
}

// isToken reports an RFC 9110 token, the syntax of header names and methods.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' {
			continue
		}
		switch c {
		case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
			continue
		}
		return false
	}
	return true
}

// matchHeader reports whether any of the header's values matches. The header
// must use canonical keys, as net/http guarantees for requests it parsed.
func (m *valueMatcher) matchHeader(h http.Header) bool {
	vs := h[m.name]
	switch m.typ {
	case ValuePresent:
		return len(vs) > 0
	case ValueExact:
		for _, v := range vs {
			if v == m.value {
				return true
			}
		}
	case ValueRegex:
		for _, v := range vs {
			if m.re.MatchString(v) {
				return true
			}
		}
	case ValueMediaType:
		for _, v := range vs {
			if hasMediaType(v, m.value) {
				return true
			}
		}
	}
	return false
}

// hasMediaType reports whether an element of the comma-separated list
// names want (see ValueMediaType). Linear in len(list), no allocation.
func hasMediaType(list, want string) bool {
	for list != "" {
		elem := list
		if i := strings.IndexByte(list, ','); i >= 0 {
			elem, list = list[:i], list[i+1:]
		} else {
			list = ""
		}
		if i := strings.IndexByte(elem, ';'); i >= 0 {
			elem = elem[:i]
		}
		elem = strings.Trim(elem, " \t")
		if strings.EqualFold(elem, want) {
			return true
		}
		// The suffix is after the last '+' of the subtype.
		slash := strings.IndexByte(elem, '/')
		if i := strings.LastIndexByte(elem, '+'); slash >= 0 && i > slash && strings.EqualFold(elem[:i], want) {
			return true
		}
	}
	return false
}
