package h1wire

import "strings"

// tokenTable marks tchar, the bytes allowed in an RFC 9110 token (section
// 5.6.2): methods, field names, transfer codings. A table rather than a
// switch because it is consulted for every byte of every field name.
var tokenTable = func() (t [256]bool) {
	for _, c := range "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" {
		t[c] = true
	}
	return t
}()

// IsToken reports whether s is a non-empty RFC 9110 token.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenTable[s[i]] {
			return false
		}
	}
	return true
}

// IsTokenBytes is IsToken for a byte slice, so parsers can check names in
// their read buffer without converting (and allocating) first.
func IsTokenBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenTable[c] {
			return false
		}
	}
	return true
}

// ValidFieldValue reports whether v may be sent as a field value: no
// control characters except HTAB. CR, LF and NUL above all, since they
// would inject or truncate header lines.
func ValidFieldValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// ValidFieldValueBytes is ValidFieldValue for a byte slice.
func ValidFieldValueBytes(v []byte) bool {
	for _, b := range v {
		if b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// TrimOWSRange narrows b[s:e] by optional whitespace (SP and HTAB) on both
// ends and returns the new bounds. It works on indexes so callers can keep
// recording offsets into one head buffer instead of sub-slices.
func TrimOWSRange(b []byte, s, e int) (int, int) {
	for s < e && (b[s] == ' ' || b[s] == '\t') {
		s++
	}
	for e > s && (b[e-1] == ' ' || b[e-1] == '\t') {
		e--
	}
	return s, e
}

// TrimOWS returns b without leading and trailing SP and HTAB.
func TrimOWS(b []byte) []byte {
	s, e := TrimOWSRange(b, 0, len(b))
	return b[s:e]
}

// HasToken reports whether the comma-separated list v contains token,
// case-insensitively, without allocating (Connection, Expect).
func HasToken(v, token string) bool {
	for v != "" {
		var elem string
		if i := strings.IndexByte(v, ','); i >= 0 {
			elem, v = v[:i], v[i+1:]
		} else {
			elem, v = v, ""
		}
		if strings.EqualFold(strings.Trim(elem, " \t"), token) {
			return true
		}
	}
	return false
}

// ParseDecimal parses a Content-Length value: ASCII digits only, as
// strconv.ParseUint would accept (no sign, no blanks, no "0x"). At most 18
// digits are allowed so the result cannot overflow int64.
func ParseDecimal(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n, true
}

// Unhex returns the value of a hex digit and whether c is one: the
// decoding of a percent-encoded octet (RFC 3986 §2.1) and of a chunk size.
func Unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
