package router

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestAcceptVersionRegex(t *testing.T) {
	re := regexp.MustCompile(`^(?:` + AcceptVersionRegex("application/vnd.example", "2") + `)$`)
	for _, c := range []struct {
		accept string
		want   bool
	}{
		{"application/vnd.example.v2+json", true},
		{"application/vnd.example.v2", true},
		{"application/vnd.example.v2+xml", true},
		{"Application/VND.Example.V2+JSON", true},
		{"application/vnd.example.v2+json; q=0.9", true},
		{"application/vnd.example.v2+json;charset=utf-8;q=1", true},
		{"text/html, application/vnd.example.v2+json; q=0.9, */*;q=0.1", true},
		{"text/html,application/vnd.example.v2+json", true},
		{"  application/vnd.example.v2+json  ", true},
		{"text/html;level=1, application/vnd.example.v2", true},
		{"application/vnd.example.v20+json", false},
		{"application/vnd.example.v1+json", false},
		{"application/vnd.example.v2json", false},
		{"application/vnd.exampleXv2+json", false}, // the dot is literal
		{"application/vnd.other.v2+json", false},
		{"application/json; profile=application/vnd.example.v1", false},
		{"text/html; x=application/vnd.example.v2", false}, // a parameter, not an element
		{"application/json", false},
		{"", false},
	} {
		if got := re.MatchString(c.accept); got != c.want {
			t.Errorf("Accept %q: matched %v, want %v", c.accept, got, c.want)
		}
	}
}

// TestVersionPrecedence: a versioned route wins over the unversioned
// (default) route beside it, whatever their order, by each way of naming
// the version; a request naming no version or an unknown one gets the
// default.
func TestVersionPrecedence(t *testing.T) {
	vc := VersionConfig{MediaType: "application/vnd.example", Query: "api-version"}
	base := Match{Path: prefix("/items")}
	v2 := Rule[string]{Matches: VersionMatches(vc, base, "2"), Value: "v2"}
	v3 := Rule[string]{Matches: VersionMatches(vc, base, "3"), Value: "v3"}
	def := rule("default", base)
	reqs := []req{
		{path: "/items", header: http.Header{"Api-Version": {"2"}}, want: "v2"},
		{path: "/items", header: http.Header{"Api-Version": {"3"}}, want: "v3"},
		{path: "/items", header: http.Header{"Accept": {"text/html, application/vnd.example.v2+json; q=0.9"}}, want: "v2"},
		{path: "/items", query: "api-version=3", want: "v3"},
		{path: "/items", want: "default"},
		{path: "/items", header: http.Header{"Api-Version": {"9"}}, want: "default"},
		{path: "/items", header: http.Header{"Accept": {"application/vnd.example.v9+json"}}, want: "default"},
		// Header beats query when both name a version (more header matches).
		{path: "/items", header: http.Header{"Api-Version": {"2"}}, query: "api-version=3", want: "v2"},
		{path: "/other", header: http.Header{"Api-Version": {"2"}}, want: ""},
	}
	for _, order := range [][]Rule[string]{{def, v2, v3}, {v2, def, v3}, {v3, v2, def}} {
		check(t, mustNew(t, order), reqs...)
	}
}

// TestVersionMatchesKeepsConditions: the version condition is ANDed with
// the match's own, and the alternatives share no slices with it.
func TestVersionMatchesKeepsConditions(t *testing.T) {
	base := Match{Path: prefix("/a"), Methods: []string{"GET"}, Headers: make([]ValueMatch, 1, 4), Query: make([]ValueMatch, 1, 4)}
	base.Headers[0] = ValueMatch{Name: "X-Env", Value: "prod"}
	base.Query[0] = ValueMatch{Name: "debug", Type: ValuePresent}
	ms := VersionMatches(VersionConfig{Header: "X-Version", MediaType: "application/vnd.a", Query: "v"}, base, "2")
	if len(ms) != 3 {
		t.Fatalf("%d matches, want 3", len(ms))
	}
	if h := ms[0].Headers; len(h) != 2 || h[1] != (ValueMatch{Name: "X-Version", Value: "2"}) || len(ms[0].Query) != 1 {
		t.Errorf("header alternative %+v", ms[0])
	}
	if h := ms[1].Headers; len(h) != 2 || h[1].Name != "Accept" || h[1].Type != ValueRegex || len(ms[1].Query) != 1 {
		t.Errorf("accept alternative %+v", ms[1])
	}
	if q := ms[2].Query; len(q) != 2 || q[1] != (ValueMatch{Name: "v", Value: "2"}) || len(ms[2].Headers) != 1 {
		t.Errorf("query alternative %+v", ms[2])
	}
	if &ms[0].Headers[0] == &ms[1].Headers[0] || &ms[0].Headers[0] == &base.Headers[0] || &ms[2].Query[0] == &base.Query[0] {
		t.Error("alternatives share a backing array")
	}
	r := mustNew(t, []Rule[string]{{Matches: ms, Value: "v2"}})
	check(t, r,
		req{method: "GET", path: "/a", header: http.Header{"X-Env": {"prod"}, "X-Version": {"2"}}, query: "debug", want: "v2"},
		req{method: "GET", path: "/a", header: http.Header{"X-Version": {"2"}}, query: "debug", want: ""},
		req{method: "POST", path: "/a", header: http.Header{"X-Env": {"prod"}, "X-Version": {"2"}}, query: "debug", want: ""},
		req{method: "GET", path: "/a", header: http.Header{"X-Env": {"prod"}}, query: "debug&v=2", want: "v2"},
		req{method: "GET", path: "/a", header: http.Header{"X-Env": {"prod"}, "Accept": {"application/vnd.a.v2+json"}}, query: "debug", want: "v2"},
	)
	// The zero VersionConfig reads Api-Version only.
	if ms := VersionMatches(VersionConfig{}, Match{}, "1"); len(ms) != 1 || ms[0].Headers[0].Name != DefaultVersionHeader {
		t.Errorf("zero config: %+v", ms)
	}
}

// FuzzAcceptVersionRegex: for any media type and version the validator
// accepts (tokens), the expression compiles, matches the canonical Accept
// element in any case and among others, and does not match a longer
// version or another media type.
func FuzzAcceptVersionRegex(f *testing.F) {
	for _, s := range [][2]string{
		{"application/vnd.example", "2"}, {"application/vnd.a.b", "2024-01-01"}, {"a/b", "1.0"},
		{"application/vnd.x", "*"}, {"application/vnd.x", "$^|()"}, {"text/x", "v2+json"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, mediaType, version string) {
		typ, sub, ok := strings.Cut(mediaType, "/")
		if !ok || !isToken(typ) || !isToken(sub) || strings.Contains(sub, "+") || !isToken(version) {
			return
		}
		re, err := compileFull(AcceptVersionRegex(mediaType, version))
		if err != nil {
			t.Fatalf("%q %q: %v", mediaType, version, err)
		}
		elem := mediaType + ".v" + version
		for _, accept := range []string{elem, strings.ToUpper(elem) + "+JSON", "text/html, " + elem + "+json; q=0.5, */*"} {
			if !re.MatchString(accept) {
				t.Errorf("%q does not match Accept %q", re, accept)
			}
		}
		for _, accept := range []string{elem + "0", mediaType + "x.v" + version, "text/html"} {
			if re.MatchString(accept) {
				t.Errorf("%q matches Accept %q", re, accept)
			}
		}
	})
}
