package router

import (
	"errors"
	"strings"
)

// maxHostLen is the longest DNS name (RFC 1035). Longer request hosts cannot
// equal a configured host, so Match does not need a bigger stack buffer to
// lower-case them.
const maxHostLen = 253

// requestHost reduces a raw Host header to the form configured hosts are kept
// in, except for case: no port, no brackets around an IPv6 literal, no
// trailing dot. Case is left to the comparisons, which fold only when a plain
// comparison fails, so the common lower-case Host is never scanned for it.
// A malformed bracketed literal yields "", which equals no configured host.
func requestHost(h string) string {
	if len(h) > 0 && h[0] == '[' {
		i := strings.IndexByte(h, ']')
		if i < 0 {
			return ""
		}
		h = h[1:i]
	} else if i := strings.IndexByte(h, ':'); i >= 0 && strings.IndexByte(h[i+1:], ':') < 0 {
		// Exactly one colon: host:port. Several colons without brackets is an
		// invalid Host; leave it whole rather than cutting an address in two.
		h = h[:i]
	}
	if n := len(h); n > 0 && h[n-1] == '.' {
		h = h[:n-1]
	}
	return h
}

func hasUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

// equalFoldASCII reports whether s equals lower, a lower-case string,
// ignoring ASCII case in s.
func equalFoldASCII(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerASCII(s[i]) != lower[i] {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// hasLabelSuffixFold reports whether host ends with suffix (".example.com",
// lower-case) with at least one character before it, ignoring ASCII case.
func hasLabelSuffixFold(host, suffix string) bool {
	if len(host) <= len(suffix) {
		return false
	}
	h := host[len(host)-len(suffix):]
	for i := 0; i < len(suffix); i++ {
		if lowerASCII(h[i]) != suffix[i] {
			return false
		}
	}
	return true
}

var (
	errEmptyHost    = errors.New("empty host")
	errAnyHost      = errors.New(`"*" is not a host; leave hosts empty to match any host`)
	errHostWildcard = errors.New(`a wildcard must be the whole first label, as in "*.example.com"`)
	errHostPort     = errors.New("hosts must not include a port")
	errHostChar     = errors.New("invalid character in host")
	errHostLong     = errors.New("host longer than 253 characters")
)

// configHost validates a configured host and returns its canonical form: the
// lower-case name, or for a wildcard the suffix it requires (".example.com").
func configHost(h string) (key string, wildcard bool, err error) {
	h = strings.ToLower(h)
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		h = h[1 : len(h)-1]
	}
	h = strings.TrimSuffix(h, ".")
	switch {
	case h == "":
		return "", false, errEmptyHost
	case h == "*":
		return "", false, errAnyHost
	case len(h) > maxHostLen:
		return "", false, errHostLong
	}
	if strings.HasPrefix(h, "*.") {
		h, wildcard = h[1:], true
		if h == "." {
			return "", false, errHostWildcard
		}
	}
	colons := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '.', c == '_':
		case c == ':':
			colons++
		case c == '*':
			return "", false, errHostWildcard
		default:
			return "", false, errHostChar
		}
	}
	// One colon can only be host:port; IPv6 literals have at least two.
	if colons == 1 || colons > 0 && wildcard {
		return "", false, errHostPort
	}
	return h, wildcard, nil
}
