package config

import (
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// maxAnyDepth bounds the nesting of a free-form value (a JSON body).
const maxAnyDepth = 32

// decodeAny decodes a free-form value (compose bodies and defaults) into
// JSON-shaped Go values: map[string]any, []any, string, float64, bool,
// nil. Scalars get ${ENV} substitution like every other value; only
// string keys are allowed, since the value becomes JSON.
func (d *decoder) decodeAny(n *yaml.Node, sc scope, key string, depth int) (any, bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
		n = n.Alias
	}
	if !d.visit(n) {
		return nil, false
	}
	if depth > maxAnyDepth {
		d.errorf(n, sc, "flatten the value", "%s nests deeper than %d levels", key, maxAnyDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := follow(n.Content[i])
			if k.Kind != yaml.ScalarNode || k.Value == "<<" {
				d.errorf(k, sc, "use plain string keys", "%s: keys must be strings", key)
				return nil, false
			}
			if _, dup := m[k.Value]; dup {
				d.errorf(k, sc, "remove the duplicate", "%s: duplicate key %q", key, k.Value)
				return nil, false
			}
			v, ok := d.decodeAny(n.Content[i+1], sc, key+"."+k.Value, depth+1)
			if !ok {
				return nil, false
			}
			m[k.Value] = v
		}
		return m, true
	case yaml.SequenceNode:
		a := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			v, ok := d.decodeAny(e, sc, key+" item", depth+1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
		}
		return a, true
	case yaml.ScalarNode:
		s, ok := d.scalar(n, sc, key, anyType)
		if !ok {
			return nil, false
		}
		switch n.ShortTag() {
		case "!!null":
			return nil, true
		case "!!bool":
			if b, err := strconv.ParseBool(s); err == nil {
				return b, true
			}
		case "!!int", "!!float":
			var x any
			if err := (&yaml.Node{Kind: yaml.ScalarNode, Tag: n.ShortTag(), Value: s}).Decode(&x); err == nil {
				switch t := x.(type) {
				case int:
					return float64(t), true
				case int64:
					return float64(t), true
				case uint64:
					return float64(t), true
				case float64:
					if !math.IsInf(t, 0) && !math.IsNaN(t) {
						return t, true
					}
				}
			}
			d.errorf(n, sc, "use a finite JSON number", "%s: invalid number %q", key, s)
			return nil, false
		}
		return s, true
	}
	d.errorf(n, sc, "", "%s: unsupported value", key)
	return nil, false
}
