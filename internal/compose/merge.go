package compose

import "strings"

// merge builds the answer's document from the outcomes, in step order.
// Absent results (omitted, skipped) are left out.
func (c *Compose) merge(out []outcome) any {
	switch c.cfg.Strategy {
	case Append:
		arr := []any{}
		for i := range c.cfg.Steps {
			if !present(out[i]) {
				continue
			}
			if a, ok := out[i].value.([]any); ok {
				arr = append(arr, a...)
			} else {
				arr = append(arr, out[i].value)
			}
		}
		return arr
	case Merge:
		doc := map[string]any{}
		for i, s := range c.cfg.Steps {
			if !present(out[i]) {
				continue
			}
			v := out[i].value
			if s.Key != "" {
				v = wrap(s.Key, v)
			}
			obj, ok := v.(map[string]any)
			if !ok {
				// Only objects merge; anything else goes under the name.
				obj = map[string]any{s.Name: v}
			}
			c.deepMerge(doc, obj)
		}
		return doc
	}
	doc := make(map[string]any, len(c.cfg.Steps))
	for i, s := range c.cfg.Steps {
		if !present(out[i]) {
			continue
		}
		key := s.Key
		if key == "" {
			key = s.Name
		}
		doc[key] = out[i].value
	}
	return doc
}

func present(o outcome) bool { return o.result == OK || o.result == Defaulted }

// wrap nests v under a dot path: "a.b" → {a: {b: v}}.
func wrap(path string, v any) any {
	segs := strings.Split(path, ".")
	for i := len(segs) - 1; i >= 0; i-- {
		v = map[string]any{segs[i]: v}
	}
	return v
}

// deepMerge writes src into dst: objects merge key by key; any other
// value present in both is a collision, resolved for the later step
// (src) and counted, so the answer never depends on which call finished
// first.
func (c *Compose) deepMerge(dst, src map[string]any) {
	for k, sv := range src {
		dv, ok := dst[k]
		if !ok {
			// A copy: a later result merges into it, and this one may
			// be a step's default, shared by every request.
			dst[k] = cloneObjects(sv)
			continue
		}
		dm, dok := dv.(map[string]any)
		sm, sok := sv.(map[string]any)
		if dok && sok {
			c.deepMerge(dm, sm)
			continue
		}
		if c.cfg.OnCollision != nil {
			c.cfg.OnCollision()
		}
		dst[k] = sv
	}
}

// cloneObjects copies the objects of v (what deepMerge writes into);
// arrays and scalars are never written, so they are shared.
func cloneObjects(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	c := make(map[string]any, len(m))
	for k, x := range m {
		c[k] = cloneObjects(x)
	}
	return c
}
