package compose

import (
	"fmt"
	"sort"

	"github.com/gatehouse/gatehouse/internal/expr"
)

// Body is a compiled JSON body: the configured value with every string
// compiled as a template. A string that is exactly one variable keeps the
// variable's JSON type (an object stays an object).
type Body struct {
	root node
}

type node struct {
	tpl  *expr.Template // string leaf
	lit  any            // other scalar leaf
	keys []string       // object, sorted
	vals []node
	arr  []node
	kind byte // 's' string, 'l' literal, 'o' object, 'a' array
}

// maxBodyDepth bounds nesting of a configured body.
const maxBodyDepth = 32

// CompileBody compiles a decoded YAML/JSON value (maps with string keys,
// slices, scalars) into a Body. Names are the variables it uses.
func CompileBody(v any, scope expr.Scope) (*Body, []string, error) {
	var names []string
	n, err := compileNode(v, scope, 0, &names)
	if err != nil {
		return nil, nil, err
	}
	return &Body{root: n}, names, nil
}

func compileNode(v any, scope expr.Scope, depth int, names *[]string) (node, error) {
	if depth > maxBodyDepth {
		return node{}, fmt.Errorf("body nests deeper than %d", maxBodyDepth)
	}
	switch t := v.(type) {
	case string:
		tpl, err := expr.CompileTemplate(t, scope)
		if err != nil {
			return node{}, err
		}
		*names = append(*names, tpl.Names()...)
		return node{kind: 's', tpl: tpl}, nil
	case map[string]any:
		n := node{kind: 'o'}
		for k := range t {
			n.keys = append(n.keys, k)
		}
		sort.Strings(n.keys)
		for _, k := range n.keys {
			c, err := compileNode(t[k], scope, depth+1, names)
			if err != nil {
				return node{}, fmt.Errorf("%s: %w", k, err)
			}
			n.vals = append(n.vals, c)
		}
		return n, nil
	case []any:
		n := node{kind: 'a'}
		for i, e := range t {
			c, err := compileNode(e, scope, depth+1, names)
			if err != nil {
				return node{}, fmt.Errorf("[%d]: %w", i, err)
			}
			n.arr = append(n.arr, c)
		}
		return n, nil
	}
	return node{kind: 'l', lit: v}, nil
}

// Render builds the body's value for v.
func (b *Body) Render(v *expr.Vars) any { return b.root.render(v) }

func (n *node) render(v *expr.Vars) any {
	switch n.kind {
	case 's':
		return n.tpl.Value(v)
	case 'o':
		m := make(map[string]any, len(n.keys))
		for i, k := range n.keys {
			m[k] = n.vals[i].render(v)
		}
		return m
	case 'a':
		a := make([]any, len(n.arr))
		for i := range n.arr {
			a[i] = n.arr[i].render(v)
		}
		return a
	}
	return n.lit
}
