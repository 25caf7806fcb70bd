package jwtauth

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// lookupClaim finds a claim by name. A name not present as it is and
// containing dots is a path into nested objects, so "realm_access.roles"
// reaches Keycloak's roles.
func lookupClaim(claims map[string]any, name string) (any, bool) {
	if v, ok := claims[name]; ok {
		return v, true
	}
	if !strings.Contains(name, ".") {
		return nil, false
	}
	var cur any = claims
	for part := range strings.SplitSeq(name, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// scalarString renders a string, number or boolean claim; ok is false
// for other types.
func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// appendClaimStrings appends the words of a list claim: an array of
// strings, or one space-separated string (OAuth's "scope" format).
// Other element types are ignored. Duplicates are not appended.
func appendClaimStrings(dst []string, v any) []string {
	add := func(s string) {
		if s != "" && !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	switch x := v.(type) {
	case string:
		for f := range strings.FieldsSeq(x) {
			add(f)
		}
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				add(s)
			}
		}
	case []string:
		for _, s := range x {
			add(s)
		}
	}
	return dst
}

// claimMatches reports whether a claim equals one of want: a scalar
// claim by its string form, an array claim when any element does.
func claimMatches(v any, want []string) bool {
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if s, ok := scalarString(e); ok && slices.Contains(want, s) {
				return true
			}
		}
		return false
	}
	s, ok := scalarString(v)
	return ok && slices.Contains(want, s)
}

// headerValue renders a claim for an upstream header: scalars as text,
// arrays of scalars comma-separated, anything else as JSON. ok is false
// when the result cannot travel in a header (control characters).
func headerValue(v any) (string, bool) {
	var s string
	if str, ok := scalarString(v); ok {
		s = str
	} else if arr, ok := v.([]any); ok && allScalar(arr) {
		parts := make([]string, len(arr))
		for i, e := range arr {
			parts[i], _ = scalarString(e)
		}
		s = strings.Join(parts, ",")
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return "", false
		}
		s = string(b)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return "", false
		}
	}
	return s, true
}

func allScalar(arr []any) bool {
	for _, e := range arr {
		if _, ok := scalarString(e); !ok {
			return false
		}
	}
	return true
}

// subject returns the consumer claim as a string.
func (p *Provider) subject(claims map[string]any) string {
	v, ok := lookupClaim(claims, p.consumerClaim)
	if !ok {
		return ""
	}
	s, _ := scalarString(v)
	return s
}

// scopes returns the token's scopes: ScopesClaim, or "scope" and "scp".
func (p *Provider) scopes(claims map[string]any) []string {
	var out []string
	if p.scopesClaim != "" {
		if v, ok := lookupClaim(claims, p.scopesClaim); ok {
			out = appendClaimStrings(out, v)
		}
		return out
	}
	if v, ok := claims["scope"]; ok {
		out = appendClaimStrings(out, v)
	}
	if v, ok := claims["scp"]; ok {
		out = appendClaimStrings(out, v)
	}
	return out
}

// groups appends the token's groups claim to dst.
func (p *Provider) groups(dst []string, claims map[string]any) []string {
	if p.groupsClaim == "" {
		return dst
	}
	if v, ok := lookupClaim(claims, p.groupsClaim); ok {
		dst = appendClaimStrings(dst, v)
	}
	return dst
}
