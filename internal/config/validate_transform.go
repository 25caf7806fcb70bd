package config

import (
	"slices"

	"github.com/gatehouse/gatehouse/internal/expr"
)

// transform compiles what a filter computes per request, so a typo in a
// variable or a CEL type error is a load error at its line: header and
// query value templates, and the `when:` condition.
func (v *validator) transform(f *Filter, owner string) {
	scope := expr.ScopeRequest
	if f.ResponsePhase() {
		scope |= expr.ScopeResponse
	}
	if f.When != "" {
		if _, err := expr.CompileCondition(f.When, scope); err != nil {
			hint := "write a CEL expression that yields a bool, e.g. when: 'method == \"GET\" && header[\"x-debug\"] == \"1\"'"
			if !f.ResponsePhase() {
				hint += "; status and response_header are for response_headers only"
			}
			v.errorf(v.at(&f.When, f.Pos), owner, hint, "when: %v", err)
		}
	}
	if h := f.RequestHeaders; h != nil {
		v.templates(&h.Set, f.Pos, owner, scope)
		v.templates(&h.Add, f.Pos, owner, scope)
	}
	if h := f.ResponseHeaders; h != nil {
		v.templates(&h.Set, f.Pos, owner, scope)
		v.templates(&h.Add, f.Pos, owner, scope)
	}
	if q := f.Query; q != nil {
		v.queryFilter(q, f.Pos, owner)
	}
}

// templates compiles the values of a set/add map; errors are at the
// entry's line.
func (v *validator) templates(m *Templates, pos Pos, owner string, scope expr.Scope) {
	keys := make([]string, 0, len(*m))
	for k := range *m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := expr.CompileTemplate((*m)[k], scope); err != nil {
			v.errorf(v.at(mapEntry{m, k}, v.at(m, pos)), owner, "use ${NAME} with a variable listed in the message, or $${ for a literal ${",
				"value of %q: %v", k, err)
		}
	}
}

func (v *validator) queryFilter(q *QueryFilter, pos Pos, owner string) {
	if len(q.Set) == 0 && len(q.Add) == 0 && len(q.Remove) == 0 {
		v.errorf(pos, owner, "give set, add or remove", "query filter changes nothing")
	}
	for _, m := range []*Templates{&q.Set, &q.Add} {
		if _, ok := (*m)[""]; ok {
			v.errorf(v.at(m, pos), owner, "name the parameter", "query parameter with an empty name")
		}
		v.templates(m, pos, owner, expr.ScopeRequest)
	}
	for i, name := range q.Remove {
		if name == "" {
			v.errorf(v.at(&q.Remove[i], pos), owner, "name the parameter", "query parameter with an empty name")
		}
	}
}

// literalTemplates checks a target's request_headers: they are edited
// where there is no request to read (the proxy's per-target edit), so
// values may not use variables; $${ is still a literal ${.
func (v *validator) literalTemplates(h *HeaderFilter, pos Pos, owner string) {
	for _, m := range []*Templates{&h.Set, &h.Add} {
		keys := make([]string, 0, len(*m))
		for k := range *m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !literalTemplate((*m)[k]) {
				v.errorf(v.at(mapEntry{m, k}, v.at(m, pos)), owner, "move it to a request_headers filter of the route, or write $${ for a literal ${",
					"target request_headers value of %q uses a variable; target headers are literal", k)
			}
		}
	}
}

func literalTemplate(src string) bool {
	t, err := expr.CompileTemplate(src, expr.ScopeRequest)
	if err != nil {
		return false
	}
	_, static := t.Literal()
	return static
}
