package jsonxform

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	for _, tc := range []struct {
		in, canon string
		segs      []seg
	}{
		{"a", "a", []seg{{key: "a", index: -1}}},
		{"a.b.c", "a.b.c", []seg{{key: "a", index: -1}, {key: "b", index: -1}, {key: "c", index: -1}}},
		{"items.0.id", "items.0.id", []seg{{key: "items", index: -1}, {key: "0", index: 0}, {key: "id", index: -1}}},
		{"items.*.price", "items.*.price", []seg{{key: "items", index: -1}, {wild: true}, {key: "price", index: -1}}},
		{`a["x.y"]`, `a["x.y"]`, []seg{{key: "a", index: -1}, {key: "x.y", index: -1}}},
		{`a["x.y"].b`, `a["x.y"].b`, []seg{{key: "a", index: -1}, {key: "x.y", index: -1}, {key: "b", index: -1}}},
		{`["*"]`, `["*"]`, []seg{{key: "*", index: -1}}},
		{`["0"]`, `["0"]`, []seg{{key: "0", index: -1}}},
		{`items[3][*]`, `items.3.*`, []seg{{key: "items", index: -1}, {key: "3", index: 3}, {wild: true}}},
		{`["a\"b\\c"]`, `["a\"b\\c"]`, []seg{{key: `a"b\c`, index: -1}}},
		{`[""]`, `[""]`, []seg{{key: "", index: -1}}},
		{"a.[\"b\"]", `a.b`, []seg{{key: "a", index: -1}, {key: "b", index: -1}}},
		{"héllo wörld", "héllo wörld", []seg{{key: "héllo wörld", index: -1}}},
	} {
		p, err := ParsePath(tc.in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", tc.in, err)
			continue
		}
		if len(p.segs) != len(tc.segs) {
			t.Errorf("ParsePath(%q) = %+v, want %+v", tc.in, p.segs, tc.segs)
			continue
		}
		for i := range p.segs {
			if p.segs[i] != tc.segs[i] {
				t.Errorf("ParsePath(%q) = %+v, want %+v", tc.in, p.segs, tc.segs)
				break
			}
		}
		if got := p.String(); got != tc.canon {
			t.Errorf("ParsePath(%q).String() = %q, want %q", tc.in, got, tc.canon)
		}
	}
}

func TestParsePathErrors(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "empty path",
		".a":                        "empty segment",
		"a.":                        "ends with a dot",
		"a..b":                      "empty segment",
		"a]":                        "unexpected ']'",
		`a"b`:                       `unexpected '"'`,
		"a[":                        "missing ]",
		"a[x]":                      "neither an index",
		`a["x`:                      "unterminated string",
		`a["x"`:                     "missing ]",
		`a["\q"]`:                   "bad quoted key",
		`a["x"]b`:                   "unexpected 'b'",
		"a.99999999999999999999999": "too large",
		strings.Repeat("a", 2000):   "longer than",
	} {
		_, err := ParsePath(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePath(%q) = %v, want an error containing %q", in, err, want)
		}
	}
}
