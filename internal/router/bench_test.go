package router

import (
	"fmt"
	"net/http"
	"testing"
)

// benchRules builds n typical routes on one host: prefix routes of equal
// length (so precedence falls back to config order and the hit is really near
// the end), a few with methods, plus a catch-all.
func benchRules(n int, kind PathType) []Rule[int] {
	rules := make([]Rule[int], 0, n)
	for i := 0; i < n-1; i++ {
		m := Match{Hosts: []string{"api.example.com"}}
		switch kind {
		case PathTemplate:
			m.Path = PathMatch{Type: PathTemplate, Value: fmt.Sprintf("/svc%03d/v1/{id}", i)}
		default:
			m.Path = PathMatch{Type: kind, Value: fmt.Sprintf("/svc%03d/v1", i)}
		}
		// Routes with methods sort first (precedence rule 3); i%3 == 1 keeps
		// the hit route n-2 without methods for every n used, so it stays
		// the last candidate walked.
		if i%3 == 1 {
			m.Methods = []string{"GET", "POST"}
		}
		rules = append(rules, Rule[int]{Matches: []Match{m}, Value: i})
	}
	rules = append(rules, Rule[int]{Value: n - 1})
	return rules
}

func BenchmarkMatch(b *testing.B) {
	for _, bc := range []struct {
		name   string
		n      int
		kind   PathType
		host   string
		params bool
	}{
		{"prefix/10", 10, PathPrefix, "api.example.com", false},
		{"prefix/100", 100, PathPrefix, "api.example.com", false},
		{"prefix/100/UpperHost", 100, PathPrefix, "API.Example.com:443", false},
		{"exact/100", 100, PathExact, "api.example.com", false},
		{"template/10/params", 10, PathTemplate, "api.example.com", true},
		{"template/100/params", 100, PathTemplate, "api.example.com", true},
		{"miss/100", 100, PathPrefix, "other.example.com", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r, err := New(benchRules(bc.n, bc.kind))
			if err != nil {
				b.Fatal(err)
			}
			hit := bc.n - 2 // the last route before the catch-all
			path := fmt.Sprintf("/svc%03d/v1", hit)
			if bc.kind == PathPrefix {
				path += "/items/42"
			}
			if bc.kind == PathTemplate {
				path += "/42"
			}
			want := hit
			if bc.host == "other.example.com" {
				want = bc.n - 1
			}
			header := http.Header{"Accept": {"*/*"}}
			var p Params
			pp := &p
			if !bc.params {
				pp = nil
			}
			if got, _ := r.Match(bc.host, "GET", path, header, "", pp); got != want {
				b.Fatalf("matched %d, want %d", got, want)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.Match(bc.host, "GET", path, header, "", pp)
			}
		})
	}
}

func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct{ name, path string }{
		{"canonical", "/v1/users/42/orders/2024-01-01"},
		{"canonical-escaped", "/v1/users/caf%C3%A9/orders"},
		{"dirty", "/v1//users/./%34%32/../42/orders/%7e"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(bc.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBucketIndex compares the linear walk with the first-segment index
// at several bucket sizes; it is how defaultIndexMin was chosen.
func BenchmarkBucketIndex(b *testing.B) {
	for _, n := range []int{4, 8, 16, 50} {
		for _, mode := range []struct {
			name     string
			indexMin int
		}{{"linear", 1 << 30}, {"indexed", 1}} {
			b.Run(fmt.Sprintf("%d/%s", n, mode.name), func(b *testing.B) {
				r, err := newRouter(benchRules(n, PathPrefix), mode.indexMin)
				if err != nil {
					b.Fatal(err)
				}
				path := fmt.Sprintf("/svc%03d/v1/items/42", n-2)
				b.ReportAllocs()
				for b.Loop() {
					r.Match("api.example.com", "GET", path, nil, "", nil)
				}
			})
		}
	}
}
