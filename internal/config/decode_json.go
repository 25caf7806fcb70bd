package config

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// JSON values in the configuration (a body transform's set: values) and
// maps of JSON paths. Header maps fold case and hold strings; these keep
// keys as written and values as the JSON they stand for.

var pathMapType = reflect.TypeFor[PathMap]()

// maxJSONDepth bounds the nesting of a JSON value written in YAML.
const maxJSONDepth = 64

// jsonMap reports whether decodeMap should hand t to decodeJSONMap.
func jsonMap(t reflect.Type) bool {
	return t == pathMapType || t.Elem().Kind() == reflect.Interface
}

// decodeJSONMap decodes a mapping into a PathMap or a map[string]any,
// recording each key's line as header maps do.
func (d *decoder) decodeJSONMap(n *yaml.Node, v reflect.Value, sc scope, key string) bool {
	t := v.Type()
	m := reflect.MakeMap(t)
	for _, e := range d.entries(n, sc, 0) {
		if d.aborted {
			return false
		}
		var val any
		ok := true
		if t == pathMapType {
			val, ok = d.scalar(follow(e.val), sc, key+"."+e.key, t.Elem())
		} else {
			val, ok = d.jsonValue(e.val, sc, key+"."+e.key, 0)
		}
		if !ok {
			continue
		}
		if val == nil {
			m.SetMapIndex(reflect.ValueOf(e.key), reflect.Zero(t.Elem()))
		} else {
			m.SetMapIndex(reflect.ValueOf(e.key), reflect.ValueOf(val))
		}
		d.set[mapEntry{v.Addr().Interface(), e.key}] = d.pos(e.keyNode)
	}
	v.Set(m)
	return true
}

// jsonValue converts a YAML node to the value encoding/json would decode
// from the equivalent JSON (numbers as json.Number, so big integers stay
// exact). Strings get ${ENV} substitution like every other scalar.
func (d *decoder) jsonValue(n *yaml.Node, sc scope, key string, depth int) (any, bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
		n = n.Alias
	}
	if !d.visit(n) {
		return nil, false
	}
	if depth > maxJSONDepth {
		d.errorf(n, sc, "", "%s is nested more than %d levels deep", key, maxJSONDepth)
		return nil, false
	}
	switch n.Kind {
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, item := range n.Content {
			x, ok := d.jsonValue(item, sc, key+" item", depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, x)
		}
		return out, true
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for _, e := range d.entries(n, sc, 0) {
			x, ok := d.jsonValue(e.val, sc, key+"."+e.key, depth+1)
			if !ok {
				return nil, false
			}
			out[e.key] = x
		}
		return out, true
	case yaml.ScalarNode:
		return d.jsonScalar(n, sc, key)
	}
	d.typeError(n, sc, key, reflect.TypeFor[string]())
	return nil, false
}

func (d *decoder) jsonScalar(n *yaml.Node, sc scope, key string) (any, bool) {
	switch n.ShortTag() {
	case "!!null":
		return nil, true
	case "!!bool":
		b, p := parseBool(n.Value, key)
		if p != nil {
			d.problem(n, sc, p)
			return nil, false
		}
		return b, true
	case "!!int", "!!float":
		if num, ok := jsonNumber(n.Value); ok {
			return num, true
		}
		d.errorf(n, sc, "write a decimal number, or quote it for a string", "%s: %s is not a JSON number", key, n.Value)
		return nil, false
	case "!!binary":
		d.errorf(n, sc, "write the value as a string", "%s: binary values are not JSON", key)
		return nil, false
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) == 0 && yaml11Bool(n.Value) {
		// YAML 1.1 tools read these as booleans, YAML 1.2 as strings:
		// refused unquoted, as for boolean fields.
		d.errorf(n, sc, "use true or false, or quote it for a string", "invalid boolean %q for %s", n.Value, key)
		return nil, false
	}
	s, ok := d.scalar(n, sc, key, reflect.TypeFor[string]())
	return s, ok
}

func yaml11Bool(s string) bool {
	switch strings.ToLower(s) {
	case "yes", "no", "on", "off", "y", "n":
		return true
	}
	return false
}

// jsonNumber turns a YAML number into a json.Number: decimal text as
// written, other YAML forms (0x1f, 1_000, +1) through their value; .inf
// and .nan have no JSON form.
func jsonNumber(s string) (json.Number, bool) {
	if s != "" && (s[0] == '-' || '0' <= s[0] && s[0] <= '9') && json.Valid([]byte(s)) {
		return json.Number(s), true
	}
	clean := strings.ReplaceAll(s, "_", "")
	if i, err := strconv.ParseInt(clean, 0, 64); err == nil {
		return json.Number(strconv.FormatInt(i, 10)), true
	}
	f, err := strconv.ParseFloat(clean, 64)
	if err != nil || f != f || f-f != 0 {
		return "", false
	}
	return json.Number(strconv.FormatFloat(f, 'g', -1, 64)), true
}
