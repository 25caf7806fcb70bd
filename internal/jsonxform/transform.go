package jsonxform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"slices"
	"time"
)

// DefaultJQTimeout bounds one run of a jq program when Config.JQTimeout
// is zero: a program that loops forever (def f: f; f) is stopped, and the
// caller's context can only shorten the bound.
const DefaultJQTimeout = time.Second

// Config is a transform. Its operations run in the fixed order extract,
// allow, deny, rename, remove, set, wrap, jq (see the package
// documentation). The zero value changes nothing.
type Config struct {
	// Extract replaces the document by the value at this path (no
	// wildcard); null when the path is absent.
	Extract string
	// Allow keeps only these paths (and what leads to them).
	Allow []string
	// Deny drops these paths.
	Deny []string
	// Rename moves the value at each key's path to the value's path.
	// Wildcards are allowed when both paths share everything up to the
	// last wildcard (items.*.price → items.*.cost). Applied in sorted
	// key order; a missing source is no change.
	Rename map[string]string
	// Remove drops these paths (after rename, unlike Deny).
	Remove []string
	// Set assigns values, in order.
	Set []Assign
	// Wrap puts the whole document under this key of a new object.
	Wrap string
	// JQ is a jq program (gojq's dialect); its first output replaces the
	// document, no output makes it null, an error fails the transform.
	// $ENV and env are empty: the gateway's environment holds secrets.
	JQ string
	// JQTimeout bounds one run of JQ; zero is DefaultJQTimeout.
	JQTimeout time.Duration
}

// Assign sets the value at Path: Dynamic's result for the arg passed to
// Apply when Dynamic is non-nil, else Value (a literal: nil, bool,
// string, json.Number, float64, int, []any, map[string]any; copied on
// every application).
type Assign struct {
	Path    string
	Value   any
	Dynamic func(arg any) any
}

// Transform is a compiled Config, safe for concurrent use.
type Transform struct {
	extract *Path
	allow   *allowTree
	deny    []Path
	renames []rename
	remove  []Path
	set     []assign
	wrap    string
	jq      *jqProgram
}

type rename struct {
	prefix   []seg // shared, up to and including the last wildcard
	from, to Path  // the rest, wildcard-free
}

type assign struct {
	path    Path
	value   any
	dynamic func(any) any
}

// New compiles c. Errors name the operation and the path or jq problem,
// for the configuration's load-time messages.
func New(c Config) (*Transform, error) {
	t := &Transform{wrap: c.Wrap}
	var errs []error
	parse := func(op, s string) Path {
		p, err := ParsePath(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", op, err))
		}
		return p
	}
	if c.Extract != "" {
		p := parse("extract", c.Extract)
		if p.hasWild() {
			errs = append(errs, fmt.Errorf("extract: path %q has a wildcard; extract takes one value", c.Extract))
		}
		t.extract = &p
	}
	if len(c.Allow) > 0 {
		ps := make([]Path, 0, len(c.Allow))
		for _, s := range c.Allow {
			ps = append(ps, parse("allow", s))
		}
		t.allow = newAllowTree(ps)
	}
	for _, s := range c.Deny {
		t.deny = append(t.deny, parse("deny", s))
	}
	for _, from := range slices.Sorted(maps.Keys(c.Rename)) {
		to := c.Rename[from]
		fp, tp := parse("rename", from), parse("rename", to)
		r, err := newRename(from, to, fp, tp)
		if err != nil {
			errs = append(errs, err)
		}
		t.renames = append(t.renames, r)
	}
	for _, s := range c.Remove {
		t.remove = append(t.remove, parse("remove", s))
	}
	for _, a := range c.Set {
		p := parse("set", a.Path)
		v, err := literal(a.Value)
		if err != nil {
			errs = append(errs, fmt.Errorf("set %s: %w", a.Path, err))
		}
		t.set = append(t.set, assign{path: p, value: v, dynamic: a.Dynamic})
	}
	if c.JQ != "" {
		timeout := c.JQTimeout
		if timeout <= 0 {
			timeout = DefaultJQTimeout
		}
		jp, err := compileJQ(c.JQ, timeout)
		if err != nil {
			errs = append(errs, err)
		}
		t.jq = jp
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return t, nil
}

func newRename(from, to string, fp, tp Path) (rename, error) {
	last := -1
	for i, sg := range fp.segs {
		if sg.wild {
			last = i
		}
	}
	if last < 0 {
		if tp.hasWild() {
			return rename{}, fmt.Errorf("rename %s → %s: the target has a wildcard the source lacks", from, to)
		}
		return rename{from: fp, to: tp}, nil
	}
	ok := len(tp.segs) > last+1 && len(fp.segs) > last+1
	for i := 0; ok && i <= last; i++ {
		ok = fp.segs[i] == tp.segs[i]
	}
	if ok {
		ok = !Path{tp.segs[last+1:]}.hasWild()
	}
	if !ok {
		return rename{}, fmt.Errorf("rename %s → %s: with wildcards both paths must share everything up to the last * and go on after it", from, to)
	}
	return rename{prefix: fp.segs[:last+1], from: Path{fp.segs[last+1:]}, to: Path{tp.segs[last+1:]}}, nil
}

// Apply transforms doc, which it owns: doc may be edited in place and
// the result may share parts of it. arg is handed to every Assign's
// Dynamic. When arg has a Context method (an *http.Request does), a jq
// program runs under that context.
func (t *Transform) Apply(doc any, arg any) (any, error) {
	ctx := context.Background()
	if c, ok := arg.(interface{ Context() context.Context }); ok {
		ctx = c.Context()
	}
	return t.ApplyContext(ctx, doc, arg)
}

// ApplyContext is Apply with an explicit context for the jq program.
func (t *Transform) ApplyContext(ctx context.Context, doc any, arg any) (any, error) {
	if t.extract != nil {
		doc, _ = t.extract.get(doc)
	}
	if t.allow != nil {
		doc, _ = t.allow.prune(doc)
	}
	for _, p := range t.deny {
		doc = p.remove(doc)
	}
	for _, r := range t.renames {
		if len(r.prefix) == 0 {
			doc = r.apply(doc)
			continue
		}
		each(doc, r.prefix[:len(r.prefix)-1], func(parent any) {
			switch c := parent.(type) {
			case map[string]any:
				for k, x := range c {
					c[k] = r.apply(x)
				}
			case []any:
				for i, x := range c {
					c[i] = r.apply(x)
				}
			}
		})
	}
	for _, p := range t.remove {
		doc = p.remove(doc)
	}
	for _, a := range t.set {
		var mk func() any
		if a.dynamic != nil {
			v := jsonValue(a.dynamic(arg))
			mk = func() any { return deepCopy(v) }
		} else {
			mk = func() any { return deepCopy(a.value) }
		}
		doc = a.path.set(doc, mk)
	}
	if t.wrap != "" {
		doc = map[string]any{t.wrap: doc}
	}
	if t.jq != nil {
		return t.jq.run(ctx, doc)
	}
	return doc, nil
}

// apply moves the value at from to to within v.
func (r rename) apply(v any) any {
	x, ok := r.from.get(v)
	if !ok {
		return v
	}
	v = r.from.remove(v)
	return r.to.set(v, func() any { return x })
}

// ApplyBytes decodes in (numbers kept exact), applies the transform and
// encodes the result without HTML escaping and without a trailing
// newline; object keys come out sorted (encoding/json's order). Input that is not one JSON value is an error (ErrInvalid).
func (t *Transform) ApplyBytes(in []byte, arg any) ([]byte, error) {
	doc, err := Decode(in)
	if err != nil {
		return nil, err
	}
	out, err := t.Apply(doc, arg)
	if err != nil {
		return nil, err
	}
	return Encode(out)
}

// ErrInvalid wraps decoding errors: the input was not one JSON value.
var ErrInvalid = errors.New("invalid JSON")

// Decode reads exactly one JSON value with numbers as json.Number.
func Decode(in []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(in))
	d.UseNumber()
	var doc any
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON value", ErrInvalid)
	}
	return doc, nil
}

// Encode writes v as JSON without HTML escaping or a trailing newline.
func Encode(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// literal checks a set value is made of JSON types, converting other Go
// values (a []string, a struct) through encoding/json once, at load.
func literal(v any) (any, error) {
	if isJSONValue(v, 0) {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return Decode(b)
}

// jsonValue is literal for values made per request: a Dynamic that
// returns something encoding/json cannot represent sets null.
func jsonValue(v any) any {
	v, err := literal(v)
	if err != nil {
		return nil
	}
	return v
}

// maxDepth bounds the recursion of the checks below; deeper literals are
// converted through encoding/json, which has its own bound.
const maxDepth = 1000

func isJSONValue(v any, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch c := v.(type) {
	case nil, bool, string, json.Number, int, *big.Int: // what gojq accepts
		return true
	case float64:
		return c == c && c-c == 0 // not NaN or ±Inf
	case []any:
		for _, x := range c {
			if !isJSONValue(x, depth+1) {
				return false
			}
		}
		return true
	case map[string]any:
		for _, x := range c {
			if !isJSONValue(x, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// deepCopy copies the containers of a JSON value; scalars are immutable.
func deepCopy(v any) any {
	switch c := v.(type) {
	case []any:
		out := make([]any, len(c))
		for i, x := range c {
			out[i] = deepCopy(x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(c))
		for k, x := range c {
			out[k] = deepCopy(x)
		}
		return out
	}
	return v
}
