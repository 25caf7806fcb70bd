package identity

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// LookupClaim finds claim name in claims (Identity.Claims, a decoded JSON
// object). A name absent as it is and containing dots is a path through
// nested objects, so "realm_access.roles" reaches Keycloak's roles while
// a flat "org.id" claim is still found by its own name.
func LookupClaim(claims map[string]any, name string) (any, bool) {
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

// ClaimString renders a scalar claim — a string, a number or a boolean —
// in its JSON text form ("42", "true"); ok is false for other types
// (objects, arrays, null).
func ClaimString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// ClaimMatches reports whether claim v has one of the accepted values:
// a scalar when its ClaimString form is one of them, an array when any
// element is. Objects and null never match. It does not allocate.
func ClaimMatches(v any, accepted []string) bool {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if scalarIn(e, accepted) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range v {
			if slices.Contains(accepted, e) {
				return true
			}
		}
		return false
	}
	return scalarIn(v, accepted)
}

// scalarIn is ClaimMatches for a scalar, formatting numbers and booleans
// into a stack buffer instead of a new string.
func scalarIn(v any, accepted []string) bool {
	var buf [32]byte
	var s []byte
	switch v := v.(type) {
	case string:
		return slices.Contains(accepted, v)
	case json.Number:
		return slices.Contains(accepted, string(v))
	case bool:
		s = strconv.AppendBool(buf[:0], v)
	case float64:
		s = strconv.AppendFloat(buf[:0], v, 'f', -1, 64)
	case int:
		s = strconv.AppendInt(buf[:0], int64(v), 10)
	case int64:
		s = strconv.AppendInt(buf[:0], v, 10)
	default:
		return false
	}
	for _, want := range accepted {
		if string(s) == want { // compared without allocating
			return true
		}
	}
	return false
}
