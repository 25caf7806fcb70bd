package router

import (
	"net/http"
	"strings"
	"testing"
)

// TestHasMediaType: the Accept element forms a version is named by.
func TestHasMediaType(t *testing.T) {
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
		if got := hasMediaType(c.accept, "application/vnd.example.v2"); got != c.want {
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
	if h := ms[1].Headers; len(h) != 2 || h[1] != (ValueMatch{Name: "Accept", Type: ValueMediaType, Value: "application/vnd.a.v2"}) || len(ms[1].Query) != 1 {
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

// FuzzHasMediaType compares the scanner with a plain reference built on
// strings.Split, on any header value and media type.
func FuzzHasMediaType(f *testing.F) {
	for _, s := range [][2]string{
		{"text/html, application/vnd.example.v2+json; q=0.9", "application/vnd.example.v2"},
		{"application/vnd.example.v20+json", "application/vnd.example.v2"},
		{"a/b+c+d", "a/b+c"}, {"a+b/c", "a"}, {"a/b;x=\"a,b\", c/d", "c/d"}, {",,, ;", ""}, {"A/B", "a/b"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, list, want string) {
		if want == "" {
			return // never asked (a media type and a version); empty elements would differ
		}
		ref := false
		for _, e := range strings.Split(list, ",") {
			e, _, _ = strings.Cut(e, ";")
			e = strings.Trim(e, " \t")
			typ, sub, _ := strings.Cut(e, "/")
			if strings.EqualFold(e, want) {
				ref = true
			}
			if i := strings.LastIndex(sub, "+"); i >= 0 && strings.EqualFold(typ+"/"+sub[:i], want) && strings.Contains(e, "/") {
				ref = true
			}
		}
		if got := hasMediaType(list, want); got != ref {
			t.Fatalf("hasMediaType(%q, %q) = %v, reference %v", list, want, got, ref)
		}
	})
}

// TestVersionMatchNoAlloc: versioned routes keep Match allocation-free,
// whichever way the request names the version.
func TestVersionMatchNoAlloc(t *testing.T) {
	vc := VersionConfig{MediaType: "application/vnd.example", Query: "api-version"}
	base := Match{Path: prefix("/items")}
	r := mustNew(t, []Rule[string]{rule("default", base), {Matches: VersionMatches(vc, base, "2"), Value: "v2"}})
	for _, c := range []struct {
		name   string
		header http.Header
		query  string
		want   string
		pooled bool // through regexp or the query decode buffer
	}{
		{"header", http.Header{"Api-Version": {"2"}}, "", "v2", false},
		{"accept", http.Header{"Accept": {"text/html, application/vnd.example.v2+json; q=0.9"}}, "", "v2", false},
		{"query", nil, "api-version=2", "v2", true},
		{"none", http.Header{"Accept": {"*/*"}}, "", "default", false},
	} {
		if c.pooled && raceEnabled {
			continue
		}
		var got string
		allocs := testing.AllocsPerRun(200, func() { got, _ = r.Match("example.com", "GET", "/items/1", c.header, c.query, nil) })
		if got != c.want || allocs != 0 {
			t.Errorf("%s: matched %q with %v allocs, want %q with 0", c.name, got, allocs, c.want)
		}
	}
}

func BenchmarkVersionMatch(b *testing.B) {
	vc := VersionConfig{MediaType: "application/vnd.example", Query: "api-version"}
	base := Match{Path: prefix("/items")}
	r, err := New([]Rule[string]{{Value: "default", Matches: []Match{base}}, {Matches: VersionMatches(vc, base, "2"), Value: "v2"}})
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name   string
		header http.Header
		query  string
	}{
		{"header", http.Header{"Api-Version": {"2"}}, ""},
		{"accept", http.Header{"Accept": {"text/html, application/vnd.example.v2+json; q=0.9"}}, ""},
		{"query", nil, "api-version=2"},
		{"default", http.Header{"Accept": {"application/json"}}, ""},
		{"browser", http.Header{"Accept": {"text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"}}, ""},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r.Match("example.com", "GET", "/items/1", bc.header, bc.query, nil)
			}
		})
	}
}
