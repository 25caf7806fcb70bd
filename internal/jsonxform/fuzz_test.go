package jsonxform

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// FuzzParsePath: no input panics, and whatever parses prints back to a
// path that parses the same.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{"a", "a.b.c", "items.0.id", "items.*.price", `a["x.y"].b`, `["*"]`, `a[0][*]`, `["\u00e9\"\\"]`, "a..b", "a[", `a["`, "0.1.2", "*.*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		canon := p.String()
		q, err := ParsePath(canon)
		if err != nil {
			t.Fatalf("ParsePath(%q) ok but its String %q does not parse: %v", s, canon, err)
		}
		if q.String() != canon || len(q.segs) != len(p.segs) {
			t.Fatalf("%q → %q → %q", s, canon, q.String())
		}
		for i := range p.segs {
			if p.segs[i] != q.segs[i] {
				t.Fatalf("%q: segment %d %+v became %+v", s, i, p.segs[i], q.segs[i])
			}
		}
	})
}

// FuzzJQCompile: compiling any source neither panics nor hangs.
func FuzzJQCompile(f *testing.F) {
	for _, s := range []string{".", "{id, name: .user.name, tags: [.items[].tag]}", "def f: f; f", "repeat(1)", `"\(1)"`, "reduce .[] as $x (0; . + $x)",
		"try error catch .", "[.[] | select(.a > 1)]", "{", "import \"a\" as a; .", "include \"x\"; .", "$__loc__", "@base64d", "input", "env.HOME", "getpath([\"a\"])", "label $f | 1, break $f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if err := CompileJQ(src); err != nil {
			return
		}
		tr, err := New(Config{JQ: src, JQTimeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatalf("CompileJQ ok but New failed: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		tr.ApplyContext(ctx, map[string]any{"a": json.Number("1"), "l": []any{"x", nil}}, nil)
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("%q ran for %v", src, d)
		}
	})
}

// FuzzApply: random input through a transform using every operation
// neither panics nor produces invalid JSON.
func FuzzApply(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `null`, `1`, `"s"`, `{"a":{"b":[1,2,{"c":3}]},"items":[{"id":1,"price":2},{"id":"x"}],"body":{"x":1}}`,
		`{"items":{"a":{"price":1}}}`, `[[[[]]]]`, `{"a":null,"items":null}`, `{"items":[1,"a",null,{"price":{"x":1}}]}`} {
		f.Add([]byte(s))
	}
	tr, err := New(Config{
		Allow:  []string{"a", "items.*.id", "items.*.price", "items.0", "x"},
		Deny:   []string{"a.b.0", "items.*.price.x"},
		Rename: map[string]string{"items.*.price": "items.*.cost", "a": "z.y"},
		Remove: []string{"items.1", "z.*.c"},
		Set:    []Assign{{Path: "items.*.seen", Value: true}, {Path: "z.y.b.5", Value: 1}, {Path: "n.m", Value: map[string]any{"k": []any{1}}}},
		Wrap:   "w",
	})
	if err != nil {
		f.Fatal(err)
	}
	jq, err := New(Config{Extract: "items", JQ: `[.[]? | objects | .id]`})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, x := range []*Transform{tr, jq} {
			out, err := x.ApplyBytes(in, nil)
			if err != nil {
				continue
			}
			if !json.Valid(out) {
				t.Fatalf("invalid output %q for %q", out, in)
			}
		}
	})
}
