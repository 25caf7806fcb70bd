// Package query reads single parameters out of raw URL queries without
// building the map url.ParseQuery returns.
package query

import (
	"net/url"
	"strings"
)

// Value returns the first value of parameter name in the raw query, as
// url.ParseQuery(raw).Get(name) would. Like ParseQuery it skips pairs
// that contain ';' or fail to unescape, so the gateway and an upstream
// using the standard parser agree on which value a parameter has.
func Value(raw, name string) (v string, found bool) {
	each(raw, func(k, rawV string) bool {
		if k != name {
			return true
		}
		var err error
		v, err = url.QueryUnescape(rawV)
		found = err == nil
		return !found
	})
	return v, found
}

// First returns every parameter's first value, read as Value reads them
// (CEL conditions take the query as a map).
func First(raw string) map[string]string {
	m := map[string]string{}
	each(raw, func(k, rawV string) bool {
		if _, dup := m[k]; !dup {
			if v, err := url.QueryUnescape(rawV); err == nil {
				m[k] = v
			}
		}
		return true
	})
	return m
}

// each calls f with every pair's unescaped key and still-escaped value,
// in order, until f returns false; pairs with ';' or a badly escaped key
// are skipped, as ParseQuery does (callers skip a badly escaped value:
// only the wanted values are unescaped).
func each(raw string, f func(k, v string) bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			continue
		}
		if !f(k, v) {
			return
		}
	}
}
