package translate

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// composeShape compiles a step's result shaping, in KrakenD's order:
// target (take a sub-object), allow (keep only these paths), deny (drop
// these), mapping (rename). Paths are dot paths into objects; an array
// is shaped element by element. nil when the step shapes nothing.
//
// It is deliberately small and local: internal/jsonxform will replace
// it, with the same semantics, when it lands.
func composeShape(s *config.ComposeStep) func(any) (any, error) {
	if s.Target == "" && len(s.Allow) == 0 && len(s.Deny) == 0 && len(s.Mapping) == 0 {
		return nil
	}
	target := splitPath(s.Target)
	allow := splitPaths(s.Allow)
	deny := splitPaths(s.Deny)
	type rename struct{ from, to []string }
	var mapping []rename
	for from, to := range s.Mapping {
		mapping = append(mapping, rename{splitPath(from), splitPath(to)})
	}
	var shape func(v any) any
	shape = func(v any) any {
		if a, ok := v.([]any); ok {
			out := make([]any, len(a))
			for i, e := range a {
				out[i] = shape(e)
			}
			return out
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		if len(allow) > 0 {
			kept := map[string]any{}
			for _, p := range allow {
				if x, found := getPath(obj, p); found {
					setPath(kept, p, x)
				}
			}
			obj = kept
		}
		for _, p := range deny {
			delPath(obj, p)
		}
		for _, m := range mapping {
			if x, found := getPath(obj, m.from); found {
				delPath(obj, m.from)
				setPath(obj, m.to, x)
			}
		}
		return obj
	}
	return func(v any) (any, error) {
		if len(target) > 0 {
			obj, ok := v.(map[string]any)
			if !ok {
				return nil, nil
			}
			v, _ = getPath(obj, target)
		}
		return shape(v), nil
	}
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, ".")
}

func splitPaths(ps []string) [][]string {
	out := make([][]string, len(ps))
	for i, p := range ps {
		out[i] = splitPath(p)
	}
	return out
}

func getPath(obj map[string]any, p []string) (any, bool) {
	var cur any = obj
	for _, k := range p {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func setPath(obj map[string]any, p []string, v any) {
	for _, k := range p[:len(p)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			obj[k] = next
		}
		obj = next
	}
	obj[p[len(p)-1]] = v
}

func delPath(obj map[string]any, p []string) {
	for _, k := range p[:len(p)-1] {
		next, ok := obj[k].(map[string]any)
		if !ok {
			return
		}
		obj = next
	}
	delete(obj, p[len(p)-1])
}
