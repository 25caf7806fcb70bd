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
func Value(raw, name string) (string, bool) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.Contains(pair, ";") {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil || k != name {
			continue
		}
		if v, err = url.QueryUnescape(v); err != nil {
			continue
		}
		return v, true
	}
	return "", false
}
