package router

import (
	"net/http"
	"testing"
)

// TestMatchNoAlloc: Match runs on every request and must not allocate, with
// or without params, with an upper-case Host (lower-cased on the stack), and
// through header, query (including decoding) and regex checks.
func TestMatchNoAlloc(t *testing.T) {
	r := mustNew(t, []Rule[string]{
		rule("user", Match{Hosts: []string{"api.example.com"}, Path: PathMatch{Type: PathTemplate, Value: "/v1/users/{id}"}, Methods: []string{"GET"}}),
		rule("wild", Match{Hosts: []string{"*.example.com"}, Path: PathMatch{Type: PathRegex, Value: `/v[0-9]+/items`}}),
		rule("q", Match{Path: prefix("/q"), Headers: []ValueMatch{{Name: "x-env", Type: ValueRegex, Value: "prod|stage"}},
			Query: []ValueMatch{{Name: "q", Value: "a b"}, {Name: "r", Type: ValueRegex, Value: "[a-z ]+"}}}),
		rule("root", Match{}),
	})
	header := http.Header{"X-Env": {"prod"}}
	cases := []struct {
		name, host, path, query, want string
		params, pooled                bool // pooled: goes through regexp or the decode-buffer pool
	}{
		{"template with params", "api.example.com", "/v1/users/42", "", "user", true, false},
		{"template without params", "api.example.com", "/v1/users/42", "", "user", false, false},
		{"upper-case host", "API.Example.COM:443", "/v1/users/42", "", "user", true, false},
		{"wildcard regex", "Shop.Example.com", "/v2/items", "", "wild", false, true},
		{"header and query decoding", "x", "/q", "x=1&q=a+b&r=a%20b", "q", false, true},
		{"miss to root", "[::1]:80", "/nothing", "", "root", true, false},
	}
	for _, c := range cases {
		if c.pooled && raceEnabled {
			t.Logf("%s: skipped under -race (sync.Pool drops items); run without -race", c.name)
			continue
		}
		var p Params
		pp := &p
		if !c.params {
			pp = nil
		}
		var got string
		allocs := testing.AllocsPerRun(200, func() {
			got, _ = r.Match(c.host, "GET", c.path, header, c.query, pp)
		})
		if got != c.want {
			t.Errorf("%s: matched %q, want %q", c.name, got, c.want)
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocs per Match, want 0", c.name, allocs)
		}
	}
}
