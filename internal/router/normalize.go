package router

import (
	"errors"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// ErrBadPath reports a request path that is not a valid origin-form path:
// it does not start with "/", has a malformed percent-escape, or contains a raw
// backslash or control character. The gateway answers 400.
var ErrBadPath = errors.New("router: malformed request path")

// ErrEncodedSeparator reports a request path containing %2F, %5C or %00.
// Upstreams disagree on whether those are separators (or string terminators),
// so letting them through would let a request be routed as one path and served
// as another. The gateway answers 400.
var ErrEncodedSeparator = errors.New("router: encoded separator (%2F, %5C or %00) in request path")

// Byte classes for Normalize. One table lookup per byte keeps the fast path cheap.
const (
	clsPlain   uint8 = iota // kept as is: unreserved (except '.'), sub-delims, ':' and '@'
	clsSlash                // '/'
	clsDot                  // '.', special only as a whole segment
	clsPercent              // '%', starts an escape
	clsEncode               // not allowed raw in a path (RFC 3986 pchar); canonical form is %XX
	clsBad                  // '\' and control characters: never accepted
)

var pathClass = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		switch {
		case c < 0x20 || c == 0x7f || c == '\\':
			t[c] = clsBad
		case c == '/':
			t[c] = clsSlash
		case c == '.':
			t[c] = clsDot
		case c == '%':
			t[c] = clsPercent
		case isUnreserved(byte(c)):
			t[c] = clsPlain
		case c < 0x80 && isSubDelimOrColonAt(byte(c)):
			t[c] = clsPlain
		default:
			// Space, '"', '<', '>', '^', '`', '{', '|', '}', '[', ']', '#', '?'
			// and every byte >= 0x80. Go's url.URL.EscapedPath encodes these,
			// so encoding them here makes a raw RequestURI path and its
			// EscapedPath normalise to the same string.
			t[c] = clsEncode
		}
	}
	return t
}()

// isUnreserved reports RFC 3986 §2.3 unreserved characters, the only ones whose
// percent-encoded and literal forms are equivalent (§6.2.2.2).
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

func isSubDelimOrColonAt(c byte) bool {
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@':
		return true
	}
	return false
}

const upperHex = "0123456789ABCDEF"

// isForbiddenOctet reports decoded octets that must never reach routing or an
// upstream: separators whose meaning differs between servers, and NUL.
func isForbiddenOctet(v byte) bool { return v == '/' || v == '\\' || v == 0 }

// Normalize canonicalises an escaped request path (r.URL.EscapedPath(), or the
// path part of the RequestURI) so that the router and the upstream see the same
// path. The result is meant both for matching and for forwarding.
//
// The canonical form:
//   - percent-escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded,
//     other escapes are kept with upper-case hex, and bytes that are not allowed
//     raw in a path (space, non-ASCII, '"', '{' …) are percent-encoded;
//   - runs of "/" are collapsed and dot-segments are removed as in RFC 3986
//     §5.2.4, after decoding, so "%2e%2e" is "..", and ".." never climbs above
//     the root; a trailing "/" is kept, and a final "." or ".." leaves one.
//
// It fails with ErrEncodedSeparator for %2F, %5C and %00, and with ErrBadPath for
// a path not starting with "/", a malformed escape, or a raw "\" or control
// character. Normalize is idempotent, and returns its input unchanged, without
// allocating, when the input is already canonical.
func Normalize(escapedPath string) (string, error) {
	if len(escapedPath) == 0 || escapedPath[0] != '/' {
		return "", ErrBadPath
	}
	if isCanonical(escapedPath) {
		return escapedPath, nil
	}
	return normalizeSlow(escapedPath)
}

// isCanonical is the allocation-free fast path: it accepts exactly the strings
// normalizeSlow would return unchanged. s must start with '/'.
func isCanonical(s string) bool {
	for i := 0; i < len(s); i++ {
		switch pathClass[s[i]] {
		case clsPlain:
		case clsSlash:
			if i+1 < len(s) && s[i+1] == '/' {
				return false
			}
		case clsDot:
			// i > 0 because s[0] is '/'. Only "." and ".." as whole segments matter.
			if s[i-1] == '/' {
				j := i + 1
				if j < len(s) && s[j] == '.' {
					j++
				}
				if j == len(s) || s[j] == '/' {
					return false
				}
			}
		case clsPercent:
			// Canonical escapes are upper-case and encode a reserved octet.
			if i+2 >= len(s) || !isUpperHex(s[i+1]) || !isUpperHex(s[i+2]) {
				return false
			}
			hi, _ := h1wire.Unhex(s[i+1])
			lo, _ := h1wire.Unhex(s[i+2])
			v := hi<<4 | lo
			if isUnreserved(v) || isForbiddenOctet(v) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

func normalizeSlow(s string) (string, error) {
	// Most paths fit; the buffer stays on the stack so the only allocation is
	// the final string. Longer paths grow onto the heap through append.
	var stack [256]byte
	out := stack[:0]
	i := 0
	for i < len(s) {
		// Here s[i] == '/': collapse the run of slashes into one.
		for i < len(s) && s[i] == '/' {
			i++
		}
		segStart := len(out)
		out = append(out, '/')
		for i < len(s) && s[i] != '/' {
			c := s[i]
			switch pathClass[c] {
			case clsPlain, clsDot:
				out = append(out, c)
				i++
			case clsPercent:
				if i+2 >= len(s) {
					return "", ErrBadPath
				}
				hi, ok1 := h1wire.Unhex(s[i+1])
				lo, ok2 := h1wire.Unhex(s[i+2])
				if !ok1 || !ok2 {
					return "", ErrBadPath
				}
				v := hi<<4 | lo
				switch {
				case isForbiddenOctet(v):
					return "", ErrEncodedSeparator
				case isUnreserved(v):
					out = append(out, v)
				default:
					out = append(out, '%', upperHex[v>>4], upperHex[v&15])
				}
				i += 3
			case clsEncode:
				out = append(out, '%', upperHex[c>>4], upperHex[c&15])
				i++
			default:
				return "", ErrBadPath
			}
		}
		// Dot-segments are judged after decoding, so "%2e" and "." are the same.
		seg := out[segStart+1:]
		last := i == len(s)
		switch {
		case len(seg) == 1 && seg[0] == '.':
			out = out[:segStart]
			if last {
				out = append(out, '/')
			}
		case len(seg) == 2 && seg[0] == '.' && seg[1] == '.':
			out = out[:segStart]
			for len(out) > 0 && out[len(out)-1] != '/' {
				out = out[:len(out)-1]
			}
			if len(out) > 0 {
				out = out[:len(out)-1] // drop the parent's '/' too
			}
			if last {
				out = append(out, '/')
			}
		}
	}
	if len(out) == 0 {
		out = append(out, '/')
	}
	return string(out), nil
}
