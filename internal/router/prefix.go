package router

import (
	"slices"
	"strings"
)

// PrefixReplacer replaces the part of a path that a route's PathPrefix
// match matched, as Gateway API's ReplacePrefixMatch path modifier does
// for both URLRewrite and RequestRedirect (HTTPPathModifier, v1.6.3). It
// lives beside the matcher because it must agree with it: a prefix
// matches whole segments and its trailing "/" is ignored, so "/foo" and
// "/foo/" both match "/foo", "/foo/" and "/foo/bar", never "/foobar".
type PrefixReplacer struct {
	prefixes []string // without trailing "/", longest first
	to       string   // without trailing "/"
}

// NewPrefixReplacer compiles the route's prefix matches and the
// replacement. A route without any match matches every path, so its
// caller passes "/". The replacement "" means "/" (the API's table gives
// both the same results).
func NewPrefixReplacer(prefixes []string, to string) *PrefixReplacer {
	p := make([]string, len(prefixes))
	for i, s := range prefixes {
		p[i] = strings.TrimSuffix(s, "/")
	}
	// The longest prefix is the most specific match the request can have
	// taken into the route.
	slices.SortStableFunc(p, func(a, b string) int { return len(b) - len(a) })
	return &PrefixReplacer{prefixes: p, to: strings.TrimSuffix(to, "/")}
}

// Replace returns path with its matched prefix replaced, following the
// table of HTTPPathModifier.ReplacePrefixMatch: "/foo/bar" with "/foo" →
// "/xyz" is "/xyz/bar", "/foo/" is "/xyz/", and "/foo" with "/" or "" is
// "/". A path no prefix matches is returned unchanged.
func (r *PrefixReplacer) Replace(path string) string {
	for _, pre := range r.prefixes {
		if pre != "" && path != pre && !strings.HasPrefix(path, pre+"/") {
			continue
		}
		rest := path[len(pre):]
		switch {
		case rest == "" && r.to == "":
			return "/"
		case rest == "/" && r.to == "":
			return "/"
		}
		return r.to + rest
	}
	return path
}
