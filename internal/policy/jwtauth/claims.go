package jwtauth

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/identity"
)

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

// headerValue renders a claim for an upstream header: scalars as text,
// arrays of scalars comma-separated, anything else as JSON. ok is false
// when the result cannot travel in a header (control characters).
func headerValue(v any) (string, bool) {
	var s string
	if str, ok := identity.ClaimString(v); ok {
		s = str
	} else if arr, ok := v.([]any); ok && allScalar(arr) {
		parts := make([]string, len(arr))
		for i, e := range arr {
			parts[i], _ = identity.ClaimString(e)
		}
		s = strings.Join(parts, ",")
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return "", false
		}
		s = string(b)
	}
	return s, h1wire.ValidFieldValue(s)
}

func allScalar(arr []any) bool {
	for _, e := range arr {
		if _, ok := identity.ClaimString(e); !ok {
			return false
		}
	}
	return true
}

// subject returns the consumer claim as a string.
func (p *Provider) subject(claims map[string]any) string {
	v, ok := identity.LookupClaim(claims, p.consumerClaim)
	if !ok {
		return ""
	}
	s, _ := identity.ClaimString(v)
	return s
}

// scopes returns the token's scopes: ScopesClaim, or "scope" and "scp".
func (p *Provider) scopes(claims map[string]any) []string {
	var out []string
	if p.scopesClaim != "" {
		if v, ok := identity.LookupClaim(claims, p.scopesClaim); ok {
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
	if v, ok := identity.LookupClaim(claims, p.groupsClaim); ok {
		dst = appendClaimStrings(dst, v)
	}
	return dst
}
