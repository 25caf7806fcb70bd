package config

import (
	"maps"
	"slices"

	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/jsonxform"
)

// bodyTransform checks a request_body or response_body filter: every
// path and the jq program compile (each error at its own line, with the
// parser's message), max_bytes is positive and something is done.
func (v *validator) bodyTransform(b *BodyTransform, kind string, pos Pos, owner string) {
	if b.Pos.Line != 0 {
		pos = b.Pos
	}
	if len(b.Set) == 0 && len(b.Remove) == 0 && len(b.Rename) == 0 && len(b.Allow) == 0 && len(b.Deny) == 0 &&
		b.Wrap == "" && b.Extract == "" && b.JQ == "" {
		v.errorf(pos, owner, "add set, remove, rename, allow, deny, wrap, extract or jq", "%s does nothing", kind)
	}
	paths := func(field string, ps []string) {
		for i, p := range ps {
			if _, err := jsonxform.ParsePath(p); err != nil {
				v.errorf(v.at(&ps[i], pos), owner, pathHint, "%s %s: %v", kind, field, err)
			}
		}
	}
	paths("allow", b.Allow)
	paths("deny", b.Deny)
	paths("remove", b.Remove)
	for _, k := range slices.Sorted(maps.Keys(b.Set)) {
		if _, err := jsonxform.ParsePath(k); err != nil {
			v.errorf(v.at(mapEntry{&b.Set, k}, pos), owner, pathHint, "%s set: %v", kind, err)
		}
		if s, ok := b.Set[k].(string); ok {
			if _, err := expr.CompileTemplate(s, expr.ScopeRequest); err != nil {
				v.errorf(v.at(mapEntry{&b.Set, k}, pos), owner, "write $${ for a literal ${", "%s set %s: %v", kind, k, err)
			}
		}
	}
	for _, k := range slices.Sorted(maps.Keys(b.Rename)) {
		if _, err := jsonxform.New(jsonxform.Config{Rename: map[string]string{k: b.Rename[k]}}); err != nil {
			v.errorf(v.at(mapEntry{&b.Rename, k}, pos), owner, pathHint, "%s %v", kind, err)
		}
	}
	if b.Extract != "" {
		if _, err := jsonxform.New(jsonxform.Config{Extract: b.Extract}); err != nil {
			v.errorf(v.at(&b.Extract, pos), owner, pathHint, "%s %v", kind, err)
		}
	}
	if b.JQ != "" {
		if err := jsonxform.CompileJQ(b.JQ); err != nil {
			v.errorf(v.at(&b.JQ, pos), owner, "see the jq manual; gojq's dialect, no modules, $ENV is empty", "%s %v", kind, err)
		}
	}
	if b.MaxBytes <= 0 {
		v.errorf(v.at(&b.MaxBytes, pos), owner, "use a size such as 256KiB or 4MiB (omit it for 1MiB)", "%s max_bytes must be positive", kind)
	}
}

const pathHint = `paths are dot separated (a.b.0.c, items.*.id); quote keys with dots as a["x.y"]`
