package credential

import "strings"

// AuthScheme returns the credentials that follow scheme in an
// Authorization-style value ("Bearer abc" gives "abc"). The scheme is
// matched case-insensitively (RFC 9110 §11.1) and must be followed by
// the end of the value or by SP or HTAB; the rest is trimmed. ok is
// false when v uses another scheme ("Basic ..." for "Bearer").
func AuthScheme(v, scheme string) (credentials string, ok bool) {
	n := len(scheme)
	if len(v) < n || !strings.EqualFold(v[:n], scheme) {
		return "", false
	}
	if len(v) > n && v[n] != ' ' && v[n] != '\t' {
		return "", false // "Bearerx abc"
	}
	return strings.TrimSpace(v[n:]), true
}
