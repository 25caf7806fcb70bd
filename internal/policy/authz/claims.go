package authz

import (
	"encoding/json"
	"strconv"
)

// match reports whether the rule's claim, in claims, has an accepted value.
func (r *claimRule) match(claims map[string]any) bool {
	v, ok := claims[r.name]
	if !ok && r.path != nil {
		v, ok = lookupPath(claims, r.path)
	}
	if !ok {
		return false
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			if r.accepts(e) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range v {
			if r.accepts(e) {
				return true
			}
		}
		return false
	}
	return r.accepts(v)
}

// lookupPath walks nested JSON objects, as decoded into map[string]any.
func lookupPath(m map[string]any, path []string) (any, bool) {
	var v any = m
	for _, k := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// accepts reports whether the scalar v, in its JSON text form, is one of
// the rule's values. Objects, arrays and null never match.
func (r *claimRule) accepts(v any) bool {
	var buf [32]byte
	var s []byte
	switch v := v.(type) {
	case string:
		return r.has(v)
	case json.Number:
		return r.has(string(v))
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
	for _, want := range r.values {
		if string(s) == want { // compared without allocating
			return true
		}
	}
	return false
}

func (r *claimRule) has(s string) bool {
	for _, want := range r.values {
		if s == want {
			return true
		}
	}
	return false
}
