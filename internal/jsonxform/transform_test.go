package jsonxform

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// run compiles c and applies it to in, returning the compact result.
func run(t *testing.T, c Config, in string) string {
	t.Helper()
	tr, err := New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	out, err := tr.ApplyBytes([]byte(in), nil)
	if err != nil {
		t.Fatalf("ApplyBytes(%s): %v", in, err)
	}
	return string(out)
}

func TestOperations(t *testing.T) {
	doc := `{"id":12345678901234567890,"user":{"name":"ann","pw":"x","a.b":1},"items":[{"id":1,"price":5,"tag":"a"},{"id":2,"price":7,"tag":"b"}],"meta":{"x":{"k":1},"y":{"k":2}}}`
	for _, tc := range []struct {
		name string
		c    Config
		in   string
		want string
	}{
		{"zero changes nothing but key order", Config{}, doc, `{"id":12345678901234567890,"items":[{"id":1,"price":5,"tag":"a"},{"id":2,"price":7,"tag":"b"}],"meta":{"x":{"k":1},"y":{"k":2}},"user":{"a.b":1,"name":"ann","pw":"x"}}`},
		{"big integers survive", Config{Set: []Assign{{Path: "n", Value: json.Number("98765432109876543210")}}}, `{"id":12345678901234567890}`,
			`{"id":12345678901234567890,"n":98765432109876543210}`},
		{"extract", Config{Extract: "user"}, doc, `{"a.b":1,"name":"ann","pw":"x"}`},
		{"extract index", Config{Extract: "items.1.tag"}, doc, `"b"`},
		{"extract missing is null", Config{Extract: "nope.x"}, doc, `null`},
		{"extract quoted key", Config{Extract: `user["a.b"]`}, doc, `1`},
		{"allow", Config{Allow: []string{"id", "user.name"}}, doc, `{"id":12345678901234567890,"user":{"name":"ann"}}`},
		{"allow wildcard in array", Config{Allow: []string{"items.*.id"}}, doc, `{"items":[{"id":1},{"id":2}]}`},
		{"allow wildcard in object", Config{Allow: []string{"meta.*.k"}}, doc, `{"meta":{"x":{"k":1},"y":{"k":2}}}`},
		{"allow index", Config{Allow: []string{"items.1"}}, doc, `{"items":[{"id":2,"price":7,"tag":"b"}]}`},
		{"allow wildcard and index overlap", Config{Allow: []string{"items.*.id", "items.0.tag"}}, doc, `{"items":[{"id":1,"tag":"a"},{"id":2}]}`},
		{"allow through a scalar drops it", Config{Allow: []string{"id.x"}}, doc, `{}`},
		{"allow root array", Config{Allow: []string{"*.a"}}, `[{"a":1,"b":2},3]`, `[{"a":1}]`},
		{"deny", Config{Deny: []string{"user.pw", "items.*.price", "meta"}}, doc,
			`{"id":12345678901234567890,"items":[{"id":1,"tag":"a"},{"id":2,"tag":"b"}],"user":{"a.b":1,"name":"ann"}}`},
		{"deny index shifts", Config{Deny: []string{"0", "0"}}, `[1,2,3]`, `[3]`},
		{"deny all elements", Config{Deny: []string{"items.*"}}, `{"items":[1,2]}`, `{"items":[]}`},
		{"deny all values", Config{Deny: []string{"*"}}, `{"a":1,"b":2}`, `{}`},
		{"deny missing is no-op", Config{Deny: []string{"a.b.c", "items.9"}}, `{"a":1,"items":[]}`, `{"a":1,"items":[]}`},
		{"deny quoted key", Config{Deny: []string{`user["a.b"]`}}, `{"user":{"a.b":1,"a":{"b":2}}}`, `{"user":{"a":{"b":2}}}`},
		{"rename", Config{Rename: map[string]string{"user.name": "name", "id": "ident"}}, `{"id":1,"user":{"name":"ann"}}`,
			`{"ident":1,"name":"ann","user":{}}`},
		{"rename into new objects", Config{Rename: map[string]string{"a": "x.y.z"}}, `{"a":1}`, `{"x":{"y":{"z":1}}}`},
		{"rename wildcard", Config{Rename: map[string]string{"items.*.price": "items.*.cost"}}, `{"items":[{"price":5},{"id":2}]}`,
			`{"items":[{"cost":5},{"id":2}]}`},
		{"rename missing is no-op", Config{Rename: map[string]string{"nope": "x"}}, `{"a":1}`, `{"a":1}`},
		{"remove", Config{Remove: []string{"a", "b.0"}}, `{"a":1,"b":[1,2]}`, `{"b":[2]}`},
		{"set", Config{Set: []Assign{{Path: "a.b", Value: "v"}, {Path: "n", Value: json.Number("1")}, {Path: "o", Value: map[string]any{"k": []any{true, nil}}}}},
			`{"a":{"c":1}}`, `{"a":{"b":"v","c":1},"n":1,"o":{"k":[true,null]}}`},
		{"set wildcard", Config{Set: []Assign{{Path: "items.*.seen", Value: true}}}, `{"items":[{"id":1},{"id":2}]}`,
			`{"items":[{"id":1,"seen":true},{"id":2,"seen":true}]}`},
		{"set index", Config{Set: []Assign{{Path: "items.1", Value: "x"}, {Path: "items.5", Value: "y"}}}, `{"items":[0,1]}`, `{"items":[0,"x"]}`},
		{"set over null creates", Config{Set: []Assign{{Path: "a.b", Value: 1}}}, `{"a":null}`, `{"a":{"b":1}}`},
		{"set through a scalar is skipped", Config{Set: []Assign{{Path: "a.b", Value: 1}}}, `{"a":"s"}`, `{"a":"s"}`},
		{"set on a null document", Config{Set: []Assign{{Path: "a", Value: 1}}}, `null`, `{"a":1}`},
		{"set other Go types", Config{Set: []Assign{{Path: "l", Value: []string{"x", "y"}}}}, `{}`, `{"l":["x","y"]}`},
		{"wrap", Config{Wrap: "data"}, `[1,2]`, `{"data":[1,2]}`},
		{"no HTML escaping", Config{Set: []Assign{{Path: "h", Value: "<a&b>"}}}, `{}`, `{"h":"<a&b>"}`},
		{"jq", Config{JQ: `{id, name: .user.name, tags: [.items[].tag]}`}, doc, `{"id":12345678901234567890,"name":"ann","tags":["a","b"]}`},
		{"jq no output is null", Config{JQ: `empty`}, doc, `null`},
		{"jq first output only", Config{JQ: `1, 2`}, doc, `1`},
		{"jq nan", Config{JQ: `[nan, infinite]`}, `{}`, `[null,1.7976931348623157e+308]`},
		{"jq env is empty", Config{JQ: `$ENV | length`}, `{}`, `0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(t, tc.c, tc.in); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestOrder pins the fixed order: extract, allow, deny, rename, remove,
// set, wrap, jq — each step sees the previous one's result.
func TestOrder(t *testing.T) {
	c := Config{
		Extract: "body",
		Allow:   []string{"a", "b", "c"},
		Deny:    []string{"c"},
		Rename:  map[string]string{"a": "x"},
		Remove:  []string{"b"},
		Set:     []Assign{{Path: "y", Value: 1}, {Path: "b", Value: 2}},
		Wrap:    "w",
		JQ:      `.w | keys`,
	}
	got := run(t, c, `{"body":{"a":1,"b":2,"c":3,"d":4}}`)
	// allow dropped d; deny dropped c; rename moved a to x; remove dropped
	// b before set added it back; wrap put it under w; jq listed the keys.
	if want := `["b","x","y"]`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestSetLiteralNotShared(t *testing.T) {
	tr, err := New(Config{Set: []Assign{{Path: "o", Value: map[string]any{"k": 1}}, {Path: "o.n", Value: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		out, err := tr.ApplyBytes([]byte(`{}`), nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != `{"o":{"k":1,"n":2}}` {
			t.Fatalf("got %s", out)
		}
	}
	if m := tr.set[0].value.(map[string]any); len(m) != 1 {
		t.Fatalf("the literal was edited: %v", m)
	}
}

func TestDynamic(t *testing.T) {
	tr, err := New(Config{Set: []Assign{
		{Path: "who", Dynamic: func(arg any) any { return arg.(string) + "!" }},
		{Path: "bad", Dynamic: func(any) any { return make(chan int) }},
		{Path: "list", Dynamic: func(any) any { return []string{"a"} }},
	}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := tr.ApplyBytes([]byte(`{}`), "ann")
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"bad":null,"list":["a"],"who":"ann!"}`; string(out) != want {
		t.Fatalf("got %s, want %s", out, want)
	}
}

func TestNewErrors(t *testing.T) {
	for _, tc := range []struct {
		c    Config
		want string
	}{
		{Config{Allow: []string{"a..b"}}, "allow: path"},
		{Config{Deny: []string{""}}, "deny: empty path"},
		{Config{Remove: []string{"a["}}, "remove: path"},
		{Config{Extract: "items.*"}, "extract: path \"items.*\" has a wildcard"},
		{Config{Rename: map[string]string{"a": "b.*"}}, "the target has a wildcard"},
		{Config{Rename: map[string]string{"a.*.b": "c.*.b"}}, "share everything up to the last *"},
		{Config{Rename: map[string]string{"a.*": "a.*"}}, "share everything up to the last *"},
		{Config{Set: []Assign{{Path: "a.", Value: 1}}}, "set: path \"a.\" ends with a dot"},
		{Config{Set: []Assign{{Path: "a", Value: make(chan int)}}}, "set a: json: unsupported type"},
		{Config{JQ: `{`}, "jq: unexpected EOF"},
		{Config{JQ: `nosuchfunc(1)`}, "jq: function not defined: nosuchfunc/1"},
	} {
		_, err := New(tc.c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error containing %q", tc.c, err, tc.want)
		}
	}
}

func TestApplyErrors(t *testing.T) {
	tr, err := New(Config{JQ: `error("boom")`})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.ApplyBytes([]byte(`{}`), nil); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("jq error: %v", err)
	}
	for _, in := range []string{``, `{`, `{} {}`, `{"a":1}x`, `nul`} {
		if _, err := tr.ApplyBytes([]byte(in), nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("ApplyBytes(%q) = %v, want ErrInvalid", in, err)
		}
	}
	if _, err := tr.ApplyBytes([]byte("  {}\n\t"), nil); err == nil || errors.Is(err, ErrInvalid) {
		t.Errorf("whitespace around a value is valid JSON; got %v", err)
	}
}

// TestJQStopped: a program that never ends is stopped by the caller's
// context, or by the transform's own bound when the caller has none.
func TestJQStopped(t *testing.T) {
	for _, src := range []string{`def f: f; f`, `last(repeat(1))`, `[range(1e12)] | length`} {
		tr, err := New(Config{JQ: src})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		start := time.Now()
		_, err = tr.ApplyContext(ctx, map[string]any{}, nil)
		cancel()
		if !errors.Is(err, ErrJQTimeout) {
			t.Errorf("%s: err = %v, want ErrJQTimeout", src, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s: stopped after %v", src, d)
		}
	}
	tr, err := New(Config{JQ: `def f: f; f`, JQTimeout: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Apply(map[string]any{}, nil); !errors.Is(err, ErrJQTimeout) {
		t.Errorf("own bound: err = %v, want ErrJQTimeout", err)
	}
	// repeat's outputs are never asked for beyond the first.
	tr, err = New(Config{JQ: `repeat(1)`})
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tr.Apply(map[string]any{}, nil); err != nil || out != 1 {
		t.Errorf("repeat(1) = %v, %v; want its first output", out, err)
	}
}

// ctxArg stands in for an *http.Request: Apply takes the context from it.
type ctxArg struct{ ctx context.Context }

func (a ctxArg) Context() context.Context { return a.ctx }

func TestApplyUsesArgContext(t *testing.T) {
	tr, err := New(Config{JQ: `def f: f; f`, JQTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := tr.Apply(map[string]any{}, ctxArg{ctx}); !errors.Is(err, ErrJQTimeout) {
		t.Fatalf("err = %v, want ErrJQTimeout", err)
	}
}

func TestConcurrentApply(t *testing.T) {
	tr, err := New(Config{
		Set:    []Assign{{Path: "o", Value: map[string]any{"l": []any{1}}}, {Path: "o.l.0", Value: 2}},
		Rename: map[string]string{"a": "b"},
		JQ:     `. + {c: [1, nan]}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan string)
	for range 8 {
		go func() {
			out, err := tr.ApplyBytes([]byte(`{"a":1}`), nil)
			if err != nil {
				done <- err.Error()
				return
			}
			done <- string(out)
		}()
	}
	for range 8 {
		if got := <-done; got != `{"b":1,"c":[1,null],"o":{"l":[2]}}` {
			t.Fatalf("got %s", got)
		}
	}
}
