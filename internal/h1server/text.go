package h1server

import (
	"strconv"
	"strings"
)

// tokenTable marks the bytes allowed in an RFC 9110 token (method, field
// name, transfer coding).
var tokenTable = func() (t [256]bool) {
	for _, c := range "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" {
		t[c] = true
	}
	return t
}()

// hostTable is httpguts.ValidHostHeader's byte set: what net/http accepts in
// a Host header.
var hostTable = func() (t [256]bool) {
	for _, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!$%&'()*+,-.:;=[]_~" {
		t[c] = true
	}
	return t
}()

// pathSafe marks the bytes for which net/url leaves a path unescaped
// (shouldEscape(c, encodePath) == false) and that need no unescaping: a
// request target made of these alone parses to URL{Path: target} without
// calling url.ParseRequestURI.
var pathSafe = func() (t [256]bool) {
	for _, c := range "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_.~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()

func isToken(s string) bool {
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

func validHost(h string) bool {
	for i := 0; i < len(h); i++ {
		if !hostTable[h[i]] {
			return false
		}
	}
	return true
}

// validFieldValueBytes rejects control characters except HTAB: CR, LF and
// NUL above all.
func validFieldValueBytes(v []byte) bool {
	for _, b := range v {
		if b < ' ' && b != '\t' || b == 0x7f {
			return false
		}
	}
	return true
}

// hasToken reports whether the comma-separated list v contains token,
// case-insensitively, without allocating.
func hasToken(v, token string) bool {
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

func headerHasToken(vv []string, token string) bool {
	for _, v := range vv {
		if hasToken(v, token) {
			return true
		}
	}
	return false
}

func trimOWSRange(b []byte, s, e int) (int, int) {
	for s < e && (b[s] == ' ' || b[s] == '\t') {
		s++
	}
	for e > s && (b[e-1] == ' ' || b[e-1] == '\t') {
		e--
	}
	return s, e
}

func trimOWS(b []byte) []byte {
	s, e := trimOWSRange(b, 0, len(b))
	return b[s:e]
}

// parseDecimal parses a Content-Length: digits only, as strconv.ParseUint
// would accept (no sign, no blanks), at most 18 digits so it cannot
// overflow.
func parseDecimal(s string) (int64, bool) {
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

// statusLines caches "HTTP/1.x NNN Text\r\n" for the codes net/http names.
var statusLines = func() (t [2][600][]byte) {
	for code := 100; code < 600; code++ {
		for minor := 0; minor < 2; minor++ {
			t[minor][code] = appendStatusLine(nil, minor, code)
		}
	}
	return t
}()

func appendStatusLine(b []byte, minor, code int) []byte {
	if minor == 0 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(code), 10)
	b = append(b, ' ')
	if text := statusText(code); text != "" {
		b = append(b, text...)
	} else {
		b = append(b, "status code "...)
		b = strconv.AppendInt(b, int64(code), 10)
	}
	return append(b, "\r\n"...)
}
