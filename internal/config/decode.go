package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
)

// The decoder walks yaml.Node trees instead of using yaml.Unmarshal so that
// every key and value keeps its line, unknown keys get a suggestion, all
// problems are collected rather than the first, and ${ENV} substitution
// happens before any type conversion.

// maxExpansion caps the nodes visited through aliases and merge keys. The
// schema is shallow, but lists of aliases to lists of aliases still
// multiply ("billion laughs"); the cap is far above what a hand-written
// config reuses and far below what would exhaust memory.
const maxExpansion = 100_000

// maxMergeDepth bounds chains of << merge keys, which may also be cyclic.
const maxMergeDepth = 16

var (
	durationType = reflect.TypeFor[time.Duration]()
	prefixType   = reflect.TypeFor[netip.Prefix]()
	posType      = reflect.TypeFor[Pos]()
	anyType      = reflect.TypeFor[any]()
)

// mapEntry identifies one key of a map field in decoder.set, so validation
// can point at the line of a bad header name.
type mapEntry struct {
	field any // pointer to the map field
	key   string
}

// decoder holds the state shared by all files of one Load.
type decoder struct {
	errs *collector
	// set records where every explicitly given field was defined, keyed by
	// a pointer to the field (or a mapEntry). Defaults apply only to
	// fields absent here, and validation uses it for precise lines.
	set map[any]Pos
	// sections remembers which top-level singleton section came from
	// where, to reject a second definition in another file.
	sections map[string]Pos

	file       string // file being decoded
	expansion  int    // nodes visited through aliases / merges
	aliasDepth int
	aborted    bool // expansion budget exceeded
	unparsable bool // some file could not be parsed as YAML
	template   bool // decoding a struct of templates (see env_template.go)
}

func newDecoder(errs *collector) *decoder {
	return &decoder{errs: errs, set: make(map[any]Pos), sections: make(map[string]Pos)}
}

// scope says whose value is being decoded, for messages: owner is e.g.
// `route "users"` and prefixes value errors; it is empty at the top level.
type scope struct {
	owner string
}

func (s scope) prefix() string {
	if s.owner == "" {
		return ""
	}
	return s.owner + ": "
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line} }

func (d *decoder) errorf(n *yaml.Node, sc scope, hint, format string, args ...any) {
	d.errs.add(d.pos(n), hint, "%s%s", sc.prefix(), fmt.Sprintf(format, args...))
}

func (d *decoder) problem(n *yaml.Node, sc scope, p *problem) {
	d.errs.add(d.pos(n), p.hint, "%s%s", sc.prefix(), p.msg)
}

// visit charges one node against the expansion budget when it is reached
// through an alias or merge key, and reports whether decoding may go on.
func (d *decoder) visit(n *yaml.Node) bool {
	if d.aborted {
		return false
	}
	if d.aliasDepth > 0 {
		d.expansion++
		if d.expansion > maxExpansion {
			d.aborted = true
			d.errs.add(d.pos(n), "reuse fewer anchors, or split the configuration into several files",
				"aliases expand to more than %d nodes", maxExpansion)
			return false
		}
	}
	return true
}

// structInfo maps YAML keys to field indexes of a schema struct.
type structInfo struct {
	keys   []string         // in declaration order, for suggestions
	fields map[string][]int // field index paths (inline structs add a step)
	pos    int              // index of the Pos field, or -1
}

var structInfos sync.Map // reflect.Type → *structInfo

func infoOf(t reflect.Type) *structInfo {
	if v, ok := structInfos.Load(t); ok {
		return v.(*structInfo)
	}
	info := &structInfo{fields: make(map[string][]int), pos: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == posType && f.Name == "Pos" {
			info.pos = i
		}
		key := f.Tag.Get("yaml")
		if key == ",inline" && f.Type.Kind() == reflect.Struct {
			// An inline struct's keys belong to the outer mapping: shared
			// option sets (a JWT provider inline in a route) reuse one type.
			inner := infoOf(f.Type)
			for _, k := range inner.keys {
				info.keys = append(info.keys, k)
				info.fields[k] = append([]int{i}, inner.fields[k]...)
			}
			continue
		}
		if key == "" || key == "-" {
			continue
		}
		info.keys = append(info.keys, key)
		info.fields[key] = []int{i}
	}
	structInfos.Store(t, info)
	return info
}

// entry is one key/value pair of a mapping after merge keys are applied.
type entry struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
	// merged entries came from a << merge key; decoding them is charged
	// against the expansion budget like an alias.
	merged bool
}

// entries lists a mapping's pairs, reporting duplicate and non-string keys
// and applying << merge keys (explicit keys win; among merged mappings the
// earlier one wins, as YAML specifies).
func (d *decoder) entries(n *yaml.Node, sc scope, depth int) []entry {
	out := make([]entry, 0, len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, sc, "quote the key if it is meant as text", "mapping keys must be plain strings")
			continue
		}
		if k.ShortTag() == "!!merge" {
			merges = append(merges, v)
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, sc, fmt.Sprintf("first defined at line %d; keep only one", line), "duplicate key %q", k.Value)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, entry{key: k.Value, keyNode: k, val: v})
	}
	for _, m := range merges {
		out = d.merge(out, seen, m, sc, depth+1)
	}
	return out
}

func (d *decoder) merge(out []entry, seen map[string]int, m *yaml.Node, sc scope, depth int) []entry {
	if depth > maxMergeDepth {
		d.errorf(m, sc, "", "merge keys (<<) nested more than %d deep", maxMergeDepth)
		return out
	}
	d.aliasDepth++
	defer func() { d.aliasDepth-- }()
	var sources []*yaml.Node
	switch m = follow(m); m.Kind {
	case yaml.MappingNode:
		sources = []*yaml.Node{m}
	case yaml.SequenceNode:
		sources = m.Content
	}
	for _, src := range sources {
		if !d.visit(src) {
			return out
		}
		if src = follow(src); src.Kind != yaml.MappingNode {
			d.errorf(src, sc, "write <<: *anchor or <<: [*a, *b]", "merge key << must refer to a mapping")
			continue
		}
		for _, e := range d.entries(src, sc, depth) {
			if !d.visit(e.val) {
				return out
			}
			if _, ok := seen[e.key]; !ok {
				seen[e.key] = e.keyNode.Line
				e.merged = true
				out = append(out, e)
			}
		}
	}
	if len(sources) == 0 {
		d.errorf(m, sc, "write <<: *anchor or <<: [*a, *b]", "merge key << must refer to a mapping")
	}
	return out
}

// follow resolves an alias to the node it names. Aliases cannot point at
// aliases in YAML, so one step suffices.
func follow(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// kindName describes what the user wrote, for type errors.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("the value %q", n.Value)
	}
}

// typeName describes what the schema expects, for type errors.
func typeName(t reflect.Type) (name, hint string) {
	switch {
	case t == durationType:
		return "a duration", "use Go syntax such as 5s or 250ms"
	case t.Kind() == reflect.Slice:
		return "a list", "write [a, b] or one \"- item\" per line"
	case t.Kind() == reflect.Map:
		return "a mapping of names to values", "write name: value pairs"
	case t.Kind() == reflect.Struct, t.Kind() == reflect.Pointer:
		return "a mapping", "write key: value pairs"
	case t.Kind() == reflect.Bool:
		return "a boolean", "use true or false"
	case t.Kind() == reflect.Int, t.Kind() == reflect.Int64, t.Kind() == reflect.Float64:
		return "a number", ""
	default:
		return "a string", "quote it if it contains special characters"
	}
}

func (d *decoder) typeError(n *yaml.Node, sc scope, key string, t reflect.Type) {
	name, hint := typeName(t)
	d.errorf(n, sc, hint, "%s must be %s, not %s", key, name, kindName(n))
}

// scalar returns a scalar's value after ${ENV} substitution.
func (d *decoder) scalar(n *yaml.Node, sc scope, key string, t reflect.Type) (string, bool) {
	return d.scalarIn(n, sc, key, t, false)
}

// scalarIn is scalar; template (or a template struct being decoded)
// selects expandEnvTemplate.
func (d *decoder) scalarIn(n *yaml.Node, sc scope, key string, t reflect.Type, template bool) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, sc, key, t)
		return "", false
	}
	expand := expandEnv
	if template || d.template {
		expand = expandEnvTemplate
	}
	s, err := expand(n.Value)
	if err != nil {
		p := err.(*problem)
		d.errorf(n, sc, p.hint, "%s: %s", key, p.msg)
		return "", false
	}
	return s, true
}

// decodeStruct fills a schema struct from a mapping. def is where the
// element was defined, stored in its Pos field.
func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, sc scope, key string, def Pos) bool {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, sc, key, v.Type())
		return false
	}
	if templateStructs[v.Type()] && !d.template {
		d.template = true
		defer func() { d.template = false }()
	}
	info := infoOf(v.Type())
	if info.pos >= 0 {
		v.Field(info.pos).Set(reflect.ValueOf(def))
	}
	for _, e := range d.entries(n, sc, 0) {
		if d.aborted {
			return false
		}
		i, ok := info.fields[e.key]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", e.key)
			if sc.owner != "" {
				msg += " in " + sc.owner
			}
			hint := ""
			if s := suggest(e.key, info.keys); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			d.errs.add(d.pos(e.keyNode), hint, "%s", msg)
			continue
		}
		if e.merged {
			d.aliasDepth++
		}
		d.decodeValue(e.val, v.FieldByIndex(i), sc, e.key, d.pos(e.keyNode), v.Type().FieldByIndex(i).Tag.Get("gatehouse") == "size")
		if e.merged {
			d.aliasDepth--
		}
	}
	return true
}

// entityKinds names the list elements that carry a "name" and become the
// owner in messages about their contents.
var entityKinds = map[reflect.Type]string{
	reflect.TypeFor[Listener]():    "listener",
	reflect.TypeFor[Upstream]():    "upstream",
	reflect.TypeFor[Route]():       "route",
	reflect.TypeFor[Consumer]():    "consumer",
	reflect.TypeFor[JWTProvider](): "jwt provider",
}

// entityScope labels a named element before decoding it, so messages about
// keys that precede "name" still say which route they belong to.
func (d *decoder) entityScope(n *yaml.Node, kind string) scope {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := follow(n.Content[i]); k.Value == "name" && k.Kind == yaml.ScalarNode {
			if v := follow(n.Content[i+1]); v.Kind == yaml.ScalarNode && !isNull(v) {
				if s, err := expandEnv(v.Value); err == nil && s != "" {
					return scope{owner: fmt.Sprintf("%s %q", kind, s)}
				}
			}
		}
	}
	return scope{owner: "unnamed " + kind}
}

// decodeValue decodes n into the field v. keyPos is the line of the key,
// used as the definition line of nested sections.
func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, sc scope, key string, keyPos Pos, size bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		d.aliasDepth++
		defer func() { d.aliasDepth-- }()
		n = n.Alias
	}
	if !d.visit(n) || isNull(n) {
		// null means "not given": defaults apply, as if the key were absent.
		return
	}
	t := v.Type()
	var ok bool
	switch {
	case t == durationType:
		var s string
		if s, ok = d.scalar(n, sc, key, t); ok {
			dur, p := parseDuration(s, key)
			if ok = p == nil; ok {
				v.SetInt(int64(dur))
			} else {
				d.problem(n, sc, p)
			}
		}
	case t.Kind() == reflect.String:
		var s string
		if s, ok = d.scalar(n, sc, key, t); ok {
			v.SetString(s)
		}
	case t.Kind() == reflect.Bool:
		var s string
		if s, ok = d.scalar(n, sc, key, t); ok {
			b, p := parseBool(s, key)
			if ok = p == nil; ok {
				v.SetBool(b)
			} else {
				d.problem(n, sc, p)
			}
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		var s string
		if s, ok = d.scalar(n, sc, key, t); ok {
			var i int64
			var p *problem
			if size {
				i, p = parseSize(s, key)
			} else {
				i, p = parseInt(s, key)
			}
			if p == nil && v.OverflowInt(i) {
				p = newProblem("", "number %s for %s is out of range", s, key)
			}
			if ok = p == nil; ok {
				v.SetInt(i)
			} else {
				d.problem(n, sc, p)
			}
		}
	case t.Kind() == reflect.Float64:
		var s string
		if s, ok = d.scalar(n, sc, key, t); ok {
			f, p := parseFloat(s, key)
			if ok = p == nil; ok {
				v.SetFloat(f)
			} else {
				d.problem(n, sc, p)
			}
		}
	case (t.Kind() == reflect.Pointer || t.Kind() == reflect.Struct) && n.Kind != yaml.MappingNode:
		// Reported here, in the parent's scope: "shutdown must be a
		// mapping", not "shutdown: shutdown must be ...".
		d.typeError(n, sc, key, t)
	case t.Kind() == reflect.Pointer:
		nv := reflect.New(t.Elem())
		if ok = d.decodeStruct(n, nv.Elem(), d.childScope(sc, key), key, keyPos); ok {
			v.Set(nv)
		}
	case t.Kind() == reflect.Struct:
		ok = d.decodeStruct(n, v, d.childScope(sc, key), key, keyPos)
	case t.Kind() == reflect.Slice:
		ok = d.decodeSlice(n, v, sc, key)
	case t.Kind() == reflect.Map:
		ok = d.decodeMap(n, v, sc, key)
	case t == anyType:
		var x any
		if x, ok = d.jsonValue(n, sc, key, 0); ok && x != nil {
			v.Set(reflect.ValueOf(x))
		}
	}
	if ok {
		d.set[v.Addr().Interface()] = d.pos(n)
	}
}

// childScope gives top-level sections (admin, log, ...) their own name as
// owner; nested sections keep the owner of the entity they belong to.
func (d *decoder) childScope(sc scope, key string) scope {
	if sc.owner == "" {
		return scope{owner: key}
	}
	return sc
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, sc scope, key string) bool {
	t := v.Type()
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, sc, key, t)
		return false
	}
	et := t.Elem()
	// The capacity is final before any element is decoded, so element
	// addresses recorded in d.set stay valid.
	s := reflect.MakeSlice(t, 0, len(n.Content))
	for _, item := range n.Content {
		if d.aborted {
			return false
		}
		aliased := item.Kind == yaml.AliasNode && item.Alias != nil
		if aliased {
			d.aliasDepth++
			item = item.Alias
		}
		if d.visit(item) {
			s = d.decodeItem(item, s, et, sc, key)
		}
		if aliased {
			d.aliasDepth--
		}
	}
	v.Set(s)
	return true
}

// decodeItem appends one decoded list element to s. Scalar elements that
// fail to decode are left out so validation does not report them twice;
// mapping elements are kept so their other fields are still validated.
func (d *decoder) decodeItem(item *yaml.Node, s reflect.Value, et reflect.Type, sc scope, key string) reflect.Value {
	if isNull(item) {
		d.errorf(item, sc, "remove the empty \"-\" line", "empty item in %s", key)
		return s
	}
	switch {
	case et == prefixType:
		str, ok := d.scalar(item, sc, key+" item", et)
		if !ok {
			return s
		}
		p, prob := parsePrefix(str, key)
		if prob != nil {
			d.problem(item, sc, prob)
			return s
		}
		return reflect.Append(s, reflect.ValueOf(p))
	case et.Kind() == reflect.Int:
		str, ok := d.scalar(item, sc, key+" item", et)
		if !ok {
			return s
		}
		i, prob := parseInt(str, key)
		if prob != nil {
			d.problem(item, sc, prob)
			return s
		}
		s = reflect.Append(s, reflect.ValueOf(int(i)))
		d.set[s.Index(s.Len()-1).Addr().Interface()] = d.pos(item)
		return s
	case et.Kind() == reflect.String:
		str, ok := d.scalar(item, sc, key+" item", et)
		if !ok {
			return s
		}
		s = reflect.Append(s, reflect.ValueOf(str).Convert(et))
		d.set[s.Index(s.Len()-1).Addr().Interface()] = d.pos(item)
		return s
	case et.Kind() == reflect.Pointer:
		elem := reflect.New(et.Elem())
		isc := sc
		if kind, ok := entityKinds[et.Elem()]; ok && item.Kind == yaml.MappingNode {
			isc = d.entityScope(item, kind)
		}
		if d.decodeStruct(item, elem.Elem(), isc, key+" item", d.pos(item)) {
			s = reflect.Append(s, elem)
		}
		return s
	default: // struct values, e.g. []Certificate
		if item.Kind != yaml.MappingNode {
			d.typeError(item, sc, key+" item", et)
			return s
		}
		s = reflect.Append(s, reflect.Zero(et))
		d.decodeStruct(item, s.Index(s.Len()-1), sc, key+" item", d.pos(item))
		return s
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, sc scope, key string) bool {
	t := v.Type()
	if n.Kind != yaml.MappingNode {
		d.typeError(n, sc, key, t)
		return false
	}
	if jsonMap(t) {
		return d.decodeJSONMap(n, v, sc, key)
	}
	m := reflect.MakeMap(t)
	// Maps in the schema are header maps, where names differ only in case
	// are the same header: catch that here with the line of each.
	lower := make(map[string]int)
	for _, e := range d.entries(n, sc, 0) {
		if d.aborted {
			return false
		}
		if line, dup := lower[strings.ToLower(e.key)]; dup {
			d.errorf(e.keyNode, sc, fmt.Sprintf("first defined at line %d; header names are case-insensitive", line),
				"duplicate name %q in %s", e.key, key)
			continue
		}
		lower[strings.ToLower(e.key)] = e.keyNode.Line
		val := e.val
		if val.Kind == yaml.AliasNode && val.Alias != nil {
			val = val.Alias
		}
		if t.Elem().Kind() == reflect.Slice {
			// Claim maps: a name to a list of accepted values.
			tmp := reflect.New(t.Elem()).Elem()
			if val.Kind == yaml.ScalarNode {
				// A single value is a one-element list.
				str, ok := d.scalar(val, sc, key+"."+e.key, t.Elem().Elem())
				if !ok {
					continue
				}
				tmp = reflect.Append(tmp, reflect.ValueOf(str))
			} else {
				d.decodeValue(val, tmp, sc, key+"."+e.key, d.pos(e.keyNode), false)
			}
			m.SetMapIndex(reflect.ValueOf(e.key), tmp)
			d.set[mapEntry{v.Addr().Interface(), e.key}] = d.pos(e.keyNode)
			continue
		}
		str, ok := d.scalarIn(val, sc, key+"."+e.key, t.Elem(), t == templatesType)
		if !ok {
			continue
		}
		m.SetMapIndex(reflect.ValueOf(e.key), reflect.ValueOf(str))
		d.set[mapEntry{v.Addr().Interface(), e.key}] = d.pos(e.keyNode)
	}
	v.Set(m)
	return true
}

// decodeTop decodes one file's root mapping into cfg. Lists are appended
// so a directory of files concatenates them; singleton sections may be
// defined by one file only.
func (d *decoder) decodeTop(root *yaml.Node, cfg *Config) {
	root = follow(root)
	if isNull(root) {
		return // an empty document contributes nothing
	}
	v := reflect.ValueOf(cfg).Elem()
	if root.Kind != yaml.MappingNode {
		d.errorf(root, scope{}, "start with sections such as listeners:, upstreams:, routes:",
			"the top level must be a mapping, not %s", kindName(root))
		return
	}
	info := infoOf(v.Type())
	for _, e := range d.entries(root, scope{}, 0) {
		if d.aborted {
			return
		}
		i, ok := info.fields[e.key]
		if !ok && strings.HasPrefix(e.key, "x-") {
			// Extension keys, as in Docker Compose: a place to define
			// anchors for reuse without them being configuration.
			continue
		}
		if !ok {
			hint := ""
			if s := suggest(e.key, info.keys); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			d.errs.add(d.pos(e.keyNode), hint, "unknown key %q", e.key)
			continue
		}
		f := v.FieldByIndex(i)
		if f.Kind() == reflect.Slice {
			tmp := reflect.New(f.Type()).Elem()
			d.decodeValue(e.val, tmp, scope{}, e.key, d.pos(e.keyNode), false)
			f.Set(reflect.AppendSlice(f, tmp))
			continue
		}
		if isNull(follow(e.val)) {
			continue
		}
		if first, dup := d.sections[e.key]; dup {
			d.errs.add(d.pos(e.keyNode), "first defined at "+first.String()+"; a section may appear in only one file",
				"section %s is defined twice", e.key)
			continue
		}
		d.sections[e.key] = d.pos(e.keyNode)
		d.decodeValue(e.val, f, scope{}, e.key, d.pos(e.keyNode), false)
	}
}
