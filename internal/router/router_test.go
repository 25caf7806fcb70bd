package router

import (
	"errors"
	"fmt"
	"net/http"
	"regexp/syntax"
	"testing"
)

func mustNew(t testing.TB, rules []Rule[string]) *Router[string] {
	t.Helper()
	r, err := New(rules)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

func rule(value string, ms ...Match) Rule[string] { return Rule[string]{Matches: ms, Value: value} }

// req describes one request and the rule value it must select ("" = none).
type req struct {
	host, method, path string
	header             http.Header
	query              string
	want               string
}

func check(t *testing.T, r *Router[string], reqs ...req) {
	t.Helper()
	for _, q := range reqs {
		method := q.method
		if method == "" {
			method = http.MethodGet
		}
		host := q.host
		if host == "" {
			host = "example.com"
		}
		got, ok := r.Match(host, method, q.path, q.header, q.query, nil)
		if ok != (q.want != "") || got != q.want {
			t.Errorf("Match(%q, %q, %q, %v, %q) = %q, %v; want %q", host, method, q.path, q.header, q.query, got, ok, q.want)
		}
	}
}

func prefix(p string) PathMatch { return PathMatch{Type: PathPrefix, Value: p} }
func exact(p string) PathMatch  { return PathMatch{Type: PathExact, Value: p} }

// --- Host matching -----------------------------------------------------------

func TestHostExactIgnoresCasePortAndTrailingDot(t *testing.T) {
	r := mustNew(t, []Rule[string]{rule("api", Match{Hosts: []string{"API.Example.com"}})})
	check(t, r,
		req{host: "api.example.com", path: "/", want: "api"},
		req{host: "API.EXAMPLE.COM", path: "/", want: "api"},
		req{host: "api.example.com:8443", path: "/", want: "api"},
		req{host: "Api.Example.Com.:80", path: "/", want: "api"},
		req{host: "api.example.com.", path: "/", want: "api"},
		req{host: "api.example.com:", path: "/", want: "api"},
		req{host: "www.example.com", path: "/"},
		req{host: "api.example.co", path: "/"},
		req{host: "xapi.example.com", path: "/"},
	)
}

// TestConfigHostCanonical: configured hosts are compared in one spelling.
func TestConfigHostCanonical(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("dot", Match{Hosts: []string{"Dot.Example.com."}}),
		rule("wild", Match{Hosts: []string{"*.Wild.Example.COM."}}),
	})
	check(t, r,
		req{host: "dot.example.com", path: "/", want: "dot"},
		req{host: "a.wild.example.com", path: "/", want: "wild"},
	)
}

func TestHostIPv6Literal(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("v6", Match{Hosts: []string{"[::1]"}}),
		rule("v6b", Match{Hosts: []string{"fe80::ABCD"}}),
		rule("v4", Match{Hosts: []string{"127.0.0.1"}}),
	})
	check(t, r,
		req{host: "[::1]:80", path: "/", want: "v6"},
		req{host: "[::1]", path: "/", want: "v6"},
		req{host: "[FE80::abcd]:443", path: "/", want: "v6b"},
		req{host: "127.0.0.1:8080", path: "/", want: "v4"},
		req{host: "[::1", path: "/"},            // malformed: no host rule
		req{host: "::1", path: "/", want: "v6"}, // unbracketed, no port
		req{host: "[::2]:80", path: "/"},
	)
}

func TestHostWildcard(t *testing.T) {
	r := mustNew(t, []Rule[string]{rule("wild", Match{Hosts: []string{"*.Example.com"}})})
	check(t, r,
		req{host: "a.example.com", path: "/", want: "wild"},
		req{host: "a.b.example.com", path: "/", want: "wild"},
		req{host: "A.EXAMPLE.COM:80", path: "/", want: "wild"},
		req{host: "a.example.com.", path: "/", want: "wild"},
		req{host: "example.com", path: "/"},
		req{host: ".example.com", path: "/"},
		req{host: "aexample.com", path: "/"},
		req{host: "a.example.org", path: "/"},
	)
}

func TestNoHostsMatchesAnyHost(t *testing.T) {
	r := mustNew(t, []Rule[string]{rule("any", Match{Path: prefix("/")})})
	check(t, r,
		req{host: "whatever.test", path: "/x", want: "any"},
		req{host: "[::1]:1", path: "/", want: "any"},
	)
	if got, ok := r.Match("", "GET", "/", nil, "", nil); !ok || got != "any" {
		t.Errorf("empty Host: %q, %v", got, ok)
	}
}

func TestEmptyMatchesMatchesEverything(t *testing.T) {
	r := mustNew(t, []Rule[string]{{Value: "all"}})
	check(t, r, req{host: "x.y", method: "DELETE", path: "/deep/path", want: "all"})
}

func TestNoRules(t *testing.T) {
	r := mustNew(t, nil)
	check(t, r, req{path: "/"})
}

// --- Path matching -----------------------------------------------------------

func TestPathPrefixSegmentBoundary(t *testing.T) {
	r := mustNew(t, []Rule[string]{rule("users", Match{Path: prefix("/v1/users")})})
	check(t, r,
		req{path: "/v1/users", want: "users"},
		req{path: "/v1/users/", want: "users"},
		req{path: "/v1/users/42", want: "users"},
		req{path: "/v1/usersX"},
		req{path: "/v1/user"},
		req{path: "/v1"},
	)
}

func TestPathPrefixTrailingSlashIgnored(t *testing.T) {
	r := mustNew(t, []Rule[string]{rule("users", Match{Path: prefix("/v1/users/")})})
	check(t, r,
		req{path: "/v1/users", want: "users"},
		req{path: "/v1/users/42", want: "users"},
		req{path: "/v1/usersX"},
	)
}

func TestPathPrefixRootMatchesAll(t *testing.T) {
	for _, p := range []string{"/", ""} {
		r := mustNew(t, []Rule[string]{rule("root", Match{Path: prefix(p)})})
		check(t, r, req{path: "/", want: "root"}, req{path: "/anything/at/all", want: "root"})
	}
}

func TestPathExact(t *testing.T) {
	r := mustNew(t, []Rule[string]{rule("x", Match{Path: exact("/a/b")})})
	check(t, r, req{path: "/a/b", want: "x"}, req{path: "/a/b/"}, req{path: "/a/bc"}, req{path: "/a"})
}

// TestConfigPathsNormalized: a route written in a non-canonical spelling still
// matches the canonical request path.
func TestConfigPathsNormalized(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("e", Match{Path: exact("/caf%c3%a9")}),
		rule("p", Match{Path: prefix("/%61pi/./v1")}),
		rule("u", Match{Path: exact("/naïve")}),
		rule("t", Match{Path: PathMatch{Type: PathTemplate, Value: "/caf%c3%a9/%7Euser/{x}"}}),
	})
	check(t, r,
		req{path: "/caf%C3%A9", want: "e"},
		req{path: "/api/v1/x", want: "p"},
		req{path: "/na%C3%AFve", want: "u"},
		req{path: "/caf%C3%A9/~user/1", want: "t"},
	)
}

func TestPathRegexIsFullMatch(t *testing.T) {
	r := mustNew(t, []Rule[string]{rule("re", Match{Path: PathMatch{Type: PathRegex, Value: `/v[0-9]+/items`}})})
	check(t, r,
		req{path: "/v2/items", want: "re"},
		req{path: "/v2/items/1"},
		req{path: "/x/v2/items"},
	)
}

func TestPathRegexAlternationStaysAnchored(t *testing.T) {
	// Without grouping, "^/a|/b$" would match "/a/anything" and "/x/b".
	r := mustNew(t, []Rule[string]{rule("re", Match{Path: PathMatch{Type: PathRegex, Value: `/a|/b`}})})
	check(t, r, req{path: "/a", want: "re"}, req{path: "/b", want: "re"}, req{path: "/a/x"}, req{path: "/x/b"})
}

func TestPathTemplate(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("user", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/users/{id}"}}),
		rule("file", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/files/{bucket}/{path...}"}}),
		rule("dir", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/dirs/{id}/"}}),
	})
	tests := []struct {
		path string
		want string
		kv   []string
	}{
		{"/v1/users/42", "user", []string{"id", "42"}},
		{"/v1/users/caf%C3%A9", "user", []string{"id", "caf%C3%A9"}},
		{"/v1/users/", "", nil},
		{"/v1/users", "", nil},
		{"/v1/users/42/x", "", nil},
		{"/v1/users/42/", "", nil},
		{"/v1/files/b1/a/b/c.txt", "file", []string{"bucket", "b1", "path", "a/b/c.txt"}},
		{"/v1/files/b1/dir/", "file", []string{"bucket", "b1", "path", "dir/"}},
		{"/v1/files/b1/", "", nil},
		{"/v1/files/b1", "", nil},
		{"/v1/dirs/7/", "dir", []string{"id", "7"}},
		{"/v1/dirs/7", "", nil},
	}
	for _, tt := range tests {
		var p Params
		p.Add("stale", "value") // Match must reset
		got, ok := r.Match("h", "GET", tt.path, nil, "", &p)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("%s: got %q, %v; want %q", tt.path, got, ok, tt.want)
			continue
		}
		if p.Len() != len(tt.kv)/2 {
			t.Errorf("%s: %d params, want %d", tt.path, p.Len(), len(tt.kv)/2)
			continue
		}
		for i := 0; i < len(tt.kv); i += 2 {
			if v, ok := p.Get(tt.kv[i]); !ok || v != tt.kv[i+1] {
				t.Errorf("%s: Get(%q) = %q, %v; want %q", tt.path, tt.kv[i], v, ok, tt.kv[i+1])
			}
			if n, v := p.At(i / 2); n != tt.kv[i] || v != tt.kv[i+1] {
				t.Errorf("%s: At(%d) = %q, %q", tt.path, i/2, n, v)
			}
		}
	}
}

// TestTemplateParamsFromFailedCandidateDropped: a template that matches the
// path but fails on method must not leave its captures behind.
func TestTemplateParamsFromFailedCandidateDropped(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("post", Match{Path: PathMatch{Type: PathTemplate, Value: "/u/{id}"}, Methods: []string{"POST"}}),
		rule("any", Match{Path: prefix("/u")}),
	})
	var p Params
	if got, _ := r.Match("h", "GET", "/u/1", nil, "", &p); got != "any" {
		t.Fatalf("got %q", got)
	}
	if p.Len() != 0 {
		t.Fatalf("stale params: %d", p.Len())
	}
	// And a failed template must not leave partial captures for the next one.
	r = mustNew(t, []Rule[string]{
		rule("long", Match{Path: PathMatch{Type: PathTemplate, Value: "/{a}/{b}/x/{c}"}}),
		rule("short", Match{Path: PathMatch{Type: PathTemplate, Value: "/{a}/{b}/y"}}),
	})
	if got, _ := r.Match("h", "GET", "/1/2/y", nil, "", &p); got != "short" || p.Len() != 2 {
		t.Fatalf("got %q with %d params", got, p.Len())
	}
}

func TestMaxParamsTemplate(t *testing.T) {
	ok := "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}"
	if _, err := New([]Rule[string]{rule("x", Match{Path: PathMatch{Type: PathTemplate, Value: ok}})}); err != nil {
		t.Fatalf("8 params rejected: %v", err)
	}
	if _, err := New([]Rule[string]{rule("x", Match{Path: PathMatch{Type: PathTemplate, Value: ok + "/{i}"}})}); err == nil {
		t.Fatal("9 params accepted")
	}
}

// --- Methods, headers, query -------------------------------------------------

func TestMethods(t *testing.T) {
	r := mustNew(t, []Rule[string]{rule("rw", Match{Methods: []string{"POST", "PUT"}})})
	check(t, r,
		req{method: "POST", path: "/", want: "rw"},
		req{method: "PUT", path: "/", want: "rw"},
		req{method: "GET", path: "/"},
		req{method: "post", path: "/"}, // methods are case-sensitive (RFC 9110)
	)
}

func TestHeaders(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("exact", Match{Path: prefix("/e"), Headers: []ValueMatch{{Name: "x-env", Value: "prod"}}}),
		rule("regex", Match{Path: prefix("/r"), Headers: []ValueMatch{{Name: "X-Ver", Type: ValueRegex, Value: `v[12]`}}}),
		rule("present", Match{Path: prefix("/p"), Headers: []ValueMatch{{Name: "X-Debug", Type: ValuePresent}}}),
		rule("both", Match{Path: prefix("/b"), Headers: []ValueMatch{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}}),
	})
	h := func(kv ...string) http.Header {
		hd := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			hd.Add(kv[i], kv[i+1])
		}
		return hd
	}
	check(t, r,
		req{path: "/e", header: h("X-ENV", "prod"), want: "exact"},
		req{path: "/e", header: h("X-Env", "dev", "X-Env", "prod"), want: "exact"}, // any value
		req{path: "/e", header: h("X-Env", "Prod")},                                // value is case-sensitive
		req{path: "/e", header: h("X-Env", "prod2")},
		req{path: "/e"},
		req{path: "/r", header: h("x-ver", "v2"), want: "regex"},
		req{path: "/r", header: h("x-ver", "v22")}, // full match
		req{path: "/p", header: h("X-Debug", ""), want: "present"},
		req{path: "/p"},
		req{path: "/b", header: h("A", "1", "B", "2"), want: "both"},
		req{path: "/b", header: h("A", "1")},
	)
}

func TestQuery(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("exact", Match{Path: prefix("/e"), Query: []ValueMatch{{Name: "q", Value: "a b/é"}}}),
		rule("regex", Match{Path: prefix("/r"), Query: []ValueMatch{{Name: "v", Type: ValueRegex, Value: `[0-9]+ x`}}}),
		rule("present", Match{Path: prefix("/p"), Query: []ValueMatch{{Name: "debug mode", Type: ValuePresent}}}),
	})
	check(t, r,
		req{path: "/e", query: "q=a+b/%C3%A9", want: "exact"},
		req{path: "/e", query: "q=a%20b%2f%c3%a9", want: "exact"},
		req{path: "/e", query: "%71=a+b/%C3%A9", want: "exact"}, // encoded key
		req{path: "/e", query: "x=1&q=a+b/%C3%A9&q=zzz", want: "exact"},
		req{path: "/e", query: "q=zzz&q=a+b/%C3%A9"},                // first occurrence only
		req{path: "/e", query: "q=%zz&q=a+b/%C3%A9", want: "exact"}, // malformed pair skipped, as url.ParseQuery does
		req{path: "/e", query: "q=a;b&q=a+b/%C3%A9", want: "exact"}, // ';' pair skipped, as url.ParseQuery does
		req{path: "/e", query: "q=a+b/%C3%A"},                       // truncated escape
		req{path: "/e", query: "q=a+b/%C3%A9x"},
		req{path: "/e", query: "q=a+b/%C3"},
		req{path: "/e", query: "Q=a+b/%C3%A9"}, // names are case-sensitive
		req{path: "/r", query: "v=12+x", want: "regex"},
		req{path: "/r", query: "v=12%20x", want: "regex"},
		req{path: "/r", query: "v=12 x", want: "regex"},
		req{path: "/r", query: "v=12+x+"},
		req{path: "/p", query: "debug+mode", want: "present"},
		req{path: "/p", query: "a=1&debug%20mode=", want: "present"},
		req{path: "/p", query: "debug"},
		req{path: "/p", query: "&&"},
	)
}

// --- Precedence: one test per rule, each arranged so config order alone
// would pick the wrong rule. --------------------------------------------------

// Rule 1: exact host, then wildcard (longest suffix first), then no host.
func TestPrecedenceHost(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("none", Match{Path: prefix("/")}),
		rule("short-wild", Match{Hosts: []string{"*.example.com"}}),
		rule("long-wild", Match{Hosts: []string{"*.api.example.com"}}),
		rule("exact", Match{Hosts: []string{"v1.api.example.com"}}),
	})
	check(t, r,
		req{host: "v1.api.example.com", path: "/", want: "exact"},
		req{host: "v2.api.example.com", path: "/", want: "long-wild"},
		req{host: "api.example.com", path: "/", want: "short-wild"},
		req{host: "other.test", path: "/", want: "none"},
	)
}

// Rule 1, fall-through: a more specific host bucket with no matching path
// does not hide less specific ones.
func TestPrecedenceHostFallThrough(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("exact-admin", Match{Hosts: []string{"a.example.com"}, Path: prefix("/admin")}),
		rule("wild-api", Match{Hosts: []string{"*.example.com"}, Path: prefix("/api")}),
		rule("fallback", Match{Path: prefix("/")}),
	})
	check(t, r,
		req{host: "a.example.com", path: "/admin", want: "exact-admin"},
		req{host: "a.example.com", path: "/api", want: "wild-api"},
		req{host: "a.example.com", path: "/", want: "fallback"},
	)
}

// Rule 1 applies per host of a Match: a match listing an exact and a wildcard
// host ranks as exact for the exact host.
func TestPrecedenceHostBestOfList(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("wild", Match{Hosts: []string{"*.example.com"}, Path: exact("/x")}),
		rule("list", Match{Hosts: []string{"*.test", "a.example.com"}}),
	})
	check(t, r,
		req{host: "a.example.com", path: "/x", want: "list"},
		req{host: "b.example.com", path: "/x", want: "wild"},
	)
}

// Rule 2: exact path, then template, then regex, then prefix. Rules are
// listed least specific first and removed one by one from the end.
func TestPrecedencePathType(t *testing.T) {
	rules := []Rule[string]{
		rule("prefix", Match{Path: prefix("/v1/users/42")}),
		rule("regex", Match{Path: PathMatch{Type: PathRegex, Value: `/v1/users/[0-9]+`}}),
		rule("template", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/users/{id}"}}),
		rule("exact", Match{Path: exact("/v1/users/42")}),
	}
	for n := len(rules); n > 0; n-- {
		check(t, mustNew(t, rules[:n]), req{path: "/v1/users/42", want: rules[n-1].Value})
	}
}

// Rule 2: among templates, more literal characters first.
func TestPrecedenceTemplateLiterals(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("catch-all", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/users/{rest...}"}}),
		rule("two-params", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/{kind}/{id}"}}),
		rule("one-param", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/users/{id}"}}),
		rule("long-literal", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/{kind}/me"}}),
	})
	check(t, r,
		req{path: "/v1/users/42", want: "one-param"}, // 10 literal bytes beats 4, and beats the catch-all
		req{path: "/v1/orders/42", want: "two-params"},
		req{path: "/v1/users/me", want: "one-param"}, // "/v1/users/" (10) > "/v1//me" (7)
		req{path: "/v1/orders/me", want: "long-literal"},
		req{path: "/v1/users/1/2", want: "catch-all"},
	)
}

// Rule 2: among regexes, the longer pattern first.
func TestPrecedenceRegexLength(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("short", Match{Path: PathMatch{Type: PathRegex, Value: `/.*`}}),
		rule("long", Match{Path: PathMatch{Type: PathRegex, Value: `/api/.*`}}),
	})
	check(t, r, req{path: "/api/x", want: "long"}, req{path: "/x", want: "short"})
}

// Rule 2: among prefixes, the longer first.
func TestPrecedencePrefixLength(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("root", Match{Path: prefix("/")}),
		rule("v1", Match{Path: prefix("/v1")}),
		rule("users", Match{Path: prefix("/v1/users")}),
	})
	check(t, r,
		req{path: "/v1/users/1", want: "users"},
		req{path: "/v1/orders", want: "v1"},
		req{path: "/v2", want: "root"},
	)
}

// Rule 3: with equal paths, a match with methods beats one without.
func TestPrecedenceMethods(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("any", Match{Path: prefix("/x")}),
		rule("get", Match{Path: prefix("/x"), Methods: []string{"GET"}}),
	})
	check(t, r, req{method: "GET", path: "/x", want: "get"}, req{method: "POST", path: "/x", want: "any"})
}

// Rule 3 is below rule 2: a longer path without methods beats a shorter one with.
func TestPrecedencePathBeforeMethods(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("short-get", Match{Path: prefix("/x"), Methods: []string{"GET"}}),
		rule("long", Match{Path: prefix("/x/y")}),
	})
	check(t, r, req{method: "GET", path: "/x/y", want: "long"})
}

// Rule 4: more header matches first.
func TestPrecedenceHeaders(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("one", Match{Headers: []ValueMatch{{Name: "A", Type: ValuePresent}}}),
		rule("two", Match{Headers: []ValueMatch{{Name: "A", Type: ValuePresent}, {Name: "B", Type: ValuePresent}}}),
		rule("get-no-headers", Match{Methods: []string{"GET"}}),
	})
	h := http.Header{"A": {"1"}, "B": {"2"}}
	check(t, r,
		req{method: "POST", path: "/", header: h, want: "two"},
		req{method: "POST", path: "/", header: http.Header{"A": {"1"}}, want: "one"},
		req{method: "GET", path: "/", header: h, want: "get-no-headers"}, // methods outrank headers
	)
}

// Rule 5: more query matches first.
func TestPrecedenceQuery(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("one", Match{Query: []ValueMatch{{Name: "a", Type: ValuePresent}}}),
		rule("two", Match{Query: []ValueMatch{{Name: "a", Type: ValuePresent}, {Name: "b", Type: ValuePresent}}}),
		rule("header", Match{Headers: []ValueMatch{{Name: "H", Type: ValuePresent}}}),
	})
	check(t, r,
		req{path: "/", query: "a&b", want: "two"},
		req{path: "/", query: "a", want: "one"},
		req{path: "/", query: "a&b", header: http.Header{"H": {""}}, want: "header"}, // headers outrank query
	)
}

// Rule 6: otherwise configuration order.
func TestPrecedenceConfigOrder(t *testing.T) {
	for _, order := range [][2]string{{"first", "second"}, {"second", "first"}} {
		r := mustNew(t, []Rule[string]{
			rule(order[0], Match{Path: prefix("/x")}),
			rule(order[1], Match{Path: prefix("/x")}),
		})
		check(t, r, req{path: "/x", want: order[0]})
	}
}

// --- New errors ------------------------------------------------------------------

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		m     Match
		field string
	}{
		{"bad path regex", Match{Path: PathMatch{Type: PathRegex, Value: "("}}, "path"},
		{"unbalanced regex", Match{Path: PathMatch{Type: PathRegex, Value: "a)|(.*"}}, "path"},
		{"bad header regex", Match{Headers: []ValueMatch{{Name: "A", Type: ValueRegex, Value: "["}}}, "headers"},
		{"bad query regex", Match{Query: []ValueMatch{{Name: "a", Type: ValueRegex, Value: "*"}}}, "query"},
		{"bad header name", Match{Headers: []ValueMatch{{Name: "a b"}}}, "headers"},
		{"empty header name", Match{Headers: []ValueMatch{{}}}, "headers"},
		{"empty query name", Match{Query: []ValueMatch{{}}}, "query"},
		{"bad value type", Match{Query: []ValueMatch{{Name: "a", Type: 9}}}, "query"},
		{"bad method", Match{Methods: []string{"GE T"}}, "methods"},
		{"bad path type", Match{Path: PathMatch{Type: 9, Value: "/"}}, "path"},
		{"relative prefix", Match{Path: prefix("v1")}, "path"},
		{"exact encoded slash", Match{Path: exact("/a%2Fb")}, "path"},
		{"template no slash", Match{Path: PathMatch{Type: PathTemplate, Value: "v1/{id}"}}, "path"},
		{"template partial segment", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/{id}.json"}}, "path"},
		{"template bad name", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/{1d}"}}, "path"},
		{"template empty name", Match{Path: PathMatch{Type: PathTemplate, Value: "/v1/{}"}}, "path"},
		{"template duplicate", Match{Path: PathMatch{Type: PathTemplate, Value: "/{id}/{id}"}}, "path"},
		{"template rest not last", Match{Path: PathMatch{Type: PathTemplate, Value: "/{a...}/b"}}, "path"},
		{"template double slash", Match{Path: PathMatch{Type: PathTemplate, Value: "/a//{b}"}}, "path"},
		{"template dotdot", Match{Path: PathMatch{Type: PathTemplate, Value: "/a/../{b}"}}, "path"},
		{"template bad escape", Match{Path: PathMatch{Type: PathTemplate, Value: "/a%zz/{b}"}}, "path"},
		{"empty host", Match{Hosts: []string{""}}, "hosts"},
		{"star host", Match{Hosts: []string{"*"}}, "hosts"},
		{"inner wildcard", Match{Hosts: []string{"a.*.com"}}, "hosts"},
		{"partial wildcard", Match{Hosts: []string{"*a.com"}}, "hosts"},
		{"wildcard dot only", Match{Hosts: []string{"*."}}, "hosts"},
		{"host with port", Match{Hosts: []string{"a.com:80"}}, "hosts"},
		{"host with slash", Match{Hosts: []string{"a.com/x"}}, "hosts"},
		{"host too long", Match{Hosts: []string{string(make([]byte, 254))}}, "hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New([]Rule[string]{{Value: "ok"}, rule("bad", Match{}, tt.m)})
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("New: %v, want *RuleError", err)
			}
			if re.Rule != 1 || re.Match != 1 || re.Field != tt.field {
				t.Fatalf("RuleError = %+v (%v), want rule 1 match 1 field %s", re, err, tt.field)
			}
		})
	}
}

func TestNewErrorUnwrapsRegexError(t *testing.T) {
	_, err := New([]Rule[string]{rule("x", Match{Path: PathMatch{Type: PathRegex, Value: "("}})})
	var se *syntax.Error
	if !errors.As(err, &se) {
		t.Fatalf("want *syntax.Error in chain, got %v", err)
	}
}

// TestNewDoesNotAliasInput: the Router is immutable even if the caller
// reuses its slices.
func TestNewDoesNotAliasInput(t *testing.T) {
	methods := []string{"GET"}
	r := mustNew(t, []Rule[string]{rule("get", Match{Methods: methods})})
	methods[0] = "POST"
	check(t, r, req{method: "GET", path: "/", want: "get"})
}

// TestRuleErrorMessage: the message must locate the problem for the
// configuration layer's "file:line: route …" errors.
func TestRuleErrorMessage(t *testing.T) {
	_, err := New([]Rule[string]{{}, {}, rule("x", Match{}, Match{Path: PathMatch{Type: PathTemplate, Value: "/{1}"}})})
	want := `router: rule 2, match 1: path: template "/{1}": parameter name "1": want letters, digits and '_', not starting with a digit`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	_, err = New([]Rule[string]{rule("x", Match{Path: PathMatch{Type: 7}})})
	if err == nil || err.Error() != "router: rule 0, match 0: path: unknown path type 7" {
		t.Fatalf("got %v", err)
	}
}

func TestTypeStrings(t *testing.T) {
	for v, want := range map[fmt.Stringer]string{
		PathPrefix: "prefix", PathExact: "exact", PathRegex: "regex", PathTemplate: "template", PathType(9): "PathType(9)",
		ValueExact: "exact", ValueRegex: "regex", ValuePresent: "present", ValueType(9): "ValueType(9)",
	} {
		if got := v.String(); got != want {
			t.Errorf("%#v.String() = %q, want %q", v, got, want)
		}
	}
}
