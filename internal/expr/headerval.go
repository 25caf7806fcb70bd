package expr

import (
	"net/http"
	"reflect"
	"strings"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/common/types/traits"
)

// headerVal is a header as a CEL map(string, string) — lower-case names,
// first value — that answers a lookup (header["x-debug"], "x" in header,
// header.x) straight from the http.Header, without building the map. The
// map is built only for what needs all of it: iteration, size, equality,
// conversion. Conditions mostly look one or two headers up, and building
// a map of every header per request was most of an evaluation's cost.
type headerVal struct {
	h    http.Header
	full traits.Mapper
}

var _ traits.Mapper = (*headerVal)(nil)

func (hv *headerVal) all() traits.Mapper {
	if hv.full == nil {
		hv.full = types.NewStringStringMap(types.DefaultTypeAdapter, headerMap(hv.h))
	}
	return hv.full
}

// Find looks key up as headerMap would have stored it: a name matches
// when its lower-case form is key, so a key with upper-case letters
// matches nothing.
func (hv *headerVal) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return hv.all().Find(key)
	}
	s := string(k)
	if strings.ToLower(s) != s {
		return nil, false
	}
	if vs := hv.h[http.CanonicalHeaderKey(s)]; len(vs) > 0 {
		return types.String(vs[0]), true
	}
	for name, vs := range hv.h { // a name stored in another case
		if len(vs) > 0 && len(name) == len(s) && strings.EqualFold(name, s) {
			return types.String(vs[0]), true
		}
	}
	return nil, false
}

func (hv *headerVal) Get(key ref.Val) ref.Val {
	if v, ok := hv.Find(key); ok {
		return v
	}
	return hv.all().Get(key) // the same no-such-key error as a map's
}

func (hv *headerVal) Contains(key ref.Val) ref.Val {
	_, ok := hv.Find(key)
	return types.Bool(ok)
}

func (hv *headerVal) ConvertToNative(t reflect.Type) (any, error) { return hv.all().ConvertToNative(t) }
func (hv *headerVal) ConvertToType(t ref.Type) ref.Val            { return hv.all().ConvertToType(t) }
func (hv *headerVal) Equal(other ref.Val) ref.Val                 { return hv.all().Equal(other) }
func (hv *headerVal) Type() ref.Type                              { return types.MapType }
func (hv *headerVal) Value() any                                  { return hv.all().Value() }
func (hv *headerVal) Iterator() traits.Iterator                   { return hv.all().Iterator() }
func (hv *headerVal) Size() ref.Val                               { return hv.all().Size() }
