package jsonxform

import "strconv"

// allowTree is the allow-list compiled into a trie: keep marks a path
// that is kept whole; keys, index and wild lead further. A value is kept
// when some allowed path leads to it or through it.
type allowTree struct {
	keep  bool
	keys  map[string]*allowTree // object keys (and the digits of index segments)
	index map[int]*allowTree    // array indexes
	wild  *allowTree
}

func newAllowTree(paths []Path) *allowTree {
	root := &allowTree{}
	for _, p := range paths {
		n := root
		for _, sg := range p.segs {
			n = n.step(sg)
		}
		n.keep = true
	}
	return root
}

func (n *allowTree) step(sg seg) *allowTree {
	if sg.wild {
		if n.wild == nil {
			n.wild = &allowTree{}
		}
		return n.wild
	}
	if n.keys == nil {
		n.keys = map[string]*allowTree{}
	}
	next, ok := n.keys[sg.key]
	if !ok {
		next = &allowTree{}
		n.keys[sg.key] = next
	}
	if sg.index >= 0 {
		if n.index == nil {
			n.index = map[int]*allowTree{}
		}
		n.index[sg.index] = next
	}
	return next
}

// prune returns what of v the tree allows, and whether anything is.
// Objects keep only allowed keys; arrays keep allowed elements in their
// order (an allowed index keeps that element, the array closes up).
// A scalar where the tree expects more is dropped: the path does not
// exist in this document.
func (n *allowTree) prune(v any) (any, bool) {
	if n.keep {
		return v, true
	}
	switch c := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(n.keys))
		for k, x := range c {
			var kept []*allowTree
			if sub := n.keys[k]; sub != nil {
				kept = append(kept, sub)
			}
			if n.wild != nil {
				kept = append(kept, n.wild)
			}
			if y, ok := pruneAny(kept, x); ok {
				out[k] = y
			}
		}
		return out, true
	case []any:
		out := make([]any, 0, len(c))
		for i, x := range c {
			var kept []*allowTree
			if sub := n.index[i]; sub != nil {
				kept = append(kept, sub)
			}
			if n.wild != nil {
				kept = append(kept, n.wild)
			}
			if y, ok := pruneAny(kept, x); ok {
				out = append(out, y)
			}
		}
		return out, true
	}
	return nil, false
}

// pruneAny keeps what any of the trees allows: items.*.id and
// items.0.name together keep both fields of the first item.
func pruneAny(ts []*allowTree, v any) (any, bool) {
	switch len(ts) {
	case 0:
		return nil, false
	case 1:
		return ts[0].prune(v)
	}
	for _, t := range ts {
		if t.keep {
			return v, true
		}
	}
	merged := &allowTree{}
	for _, t := range ts {
		merged.mergeFrom(t)
	}
	return merged.prune(v)
}

// mergeFrom adds t's paths to n (only for the rare overlap of a wildcard
// and an explicit key at the same level, per value).
func (n *allowTree) mergeFrom(t *allowTree) {
	n.keep = n.keep || t.keep
	for k, sub := range t.keys {
		if n.keys == nil {
			n.keys = map[string]*allowTree{}
		}
		if n.keys[k] == nil {
			n.keys[k] = &allowTree{}
		}
		n.keys[k].mergeFrom(sub)
	}
	for i := range t.index {
		// step makes an index node the same node as its digits' key,
		// already merged above
		if n.index == nil {
			n.index = map[int]*allowTree{}
		}
		n.index[i] = n.keys[strconv.Itoa(i)]
	}
	if t.wild != nil {
		if n.wild == nil {
			n.wild = &allowTree{}
		}
		n.wild.mergeFrom(t.wild)
	}
}
