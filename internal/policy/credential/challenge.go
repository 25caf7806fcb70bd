package credential

import "strings"

// Quotable reports whether s can go inside an RFC 9110 quoted-string as
// it is: no '"', '\' or control characters. Realms and scopes are
// checked with it when a policy is built, so challenges are assembled by
// plain concatenation.
func Quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ValidScope reports whether s is an RFC 6749 §3.3 scope-token
// (1*NQCHAR: printable ASCII but SP, '"' and '\'), so it can be listed
// in a space-separated scope="..." challenge parameter.
func ValidScope(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// Challenge returns `scheme realm="realm"`, or scheme alone when realm
// is empty. realm must be Quotable.
func Challenge(scheme, realm string) string {
	if realm == "" {
		return scheme
	}
	return scheme + ` realm="` + realm + `"`
}

// WithParam appends the auth-param name="value" to challenge: after a
// space when challenge is a bare scheme, after ", " when it already has
// parameters. value must be Quotable.
func WithParam(challenge, name, value string) string {
	sep := ", "
	if !strings.Contains(challenge, "=") {
		sep = " "
	}
	return challenge + sep + name + `="` + value + `"`
}

// InsufficientScope is challenge with RFC 6750's error="insufficient_scope"
// and, when scopes are given, the scope="..." they name.
func InsufficientScope(challenge string, scopes []string) string {
	c := WithParam(challenge, "error", "insufficient_scope")
	if len(scopes) > 0 {
		c = WithParam(c, "scope", strings.Join(scopes, " "))
	}
	return c
}
