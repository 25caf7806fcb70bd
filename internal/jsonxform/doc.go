// Package jsonxform transforms decoded JSON documents: the values
// encoding/json produces with UseNumber (map[string]any, []any, string,
// json.Number, bool, nil), so integers beyond 2^53 pass through exactly.
// It knows nothing of HTTP; internal/filter applies it to bodies.
//
// A Transform is compiled once (New) from a Config and applied to many
// documents, concurrently. Its operations run in one fixed order,
// whatever order the configuration lists them in:
//
//	extract, allow, deny, rename, remove, set, wrap, jq
//
// so that allow and deny see the upstream's field names, set can add
// fields that allow would otherwise drop, wrap encloses the finished
// document, and a jq program sees everything the declarative operations
// did. Within rename and set, entries apply in the order given (the
// configuration layer sorts map keys, so a parent is set before its
// children).
//
// Paths are dot separated: a.b.c. A segment of digits indexes an array
// (items.0.id) and is a key when it meets an object; * stands for every
// element of an array or every value of an object (items.*.price). A key
// that contains a dot, a bracket, a quote or is itself "*" is written
// quoted in brackets, as a JSON string: a["x.y"].b, meta["*"]; brackets
// also take indexes and the wildcard (items[0], items[*]).
//
// Trade-offs: operations edit the decoded document in place (Apply owns
// its input) and allow builds a pruned copy, so a transform costs one
// decode and one encode of the body plus work proportional to the paths
// it touches, never a copy per operation. Set values are deep-copied on
// every application, because later operations may edit them and the
// literal is shared by concurrent requests. A jq program is the escape
// hatch: it is compiled at load, runs under the caller's context and a
// time bound, and only its first output is used.
package jsonxform
