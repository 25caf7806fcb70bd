package translate

import (
	"maps"
	"net/http"
	"slices"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/filter"
	"github.com/gatehouse/gatehouse/internal/jsonxform"
)

// BodyTransform compiles a request_body (direction "request") or
// response_body ("response") filter of route. The configuration was
// validated, which compiled the same transform, so an error here is a
// bug; the filter then passes bodies through rather than failing.
func BodyTransform(b *config.BodyTransform, route, direction string, env FilterEnv) func(http.Handler) http.Handler {
	c := filter.BodyConfig{Transform: compileBody(b), MaxBytes: b.MaxBytes}
	if env.Metrics != nil {
		c.Count = env.Metrics.BodyTransforms(route, direction)
	}
	if direction == "request" {
		return filter.RequestBody(c)
	}
	return filter.ResponseBody(c)
}

// compileBody translates the section into jsonxform's Config: set
// entries in sorted path order, so a parent is set before its children.
func compileBody(b *config.BodyTransform) *jsonxform.Transform {
	c := jsonxform.Config{
		Extract: b.Extract, Allow: b.Allow, Deny: b.Deny, Rename: b.Rename,
		Remove: b.Remove, Wrap: b.Wrap, JQ: b.JQ,
	}
	for _, k := range slices.Sorted(maps.Keys(b.Set)) {
		c.Set = append(c.Set, jsonxform.Assign{Path: k, Value: b.Set[k]})
	}
	t, err := jsonxform.New(c)
	if err != nil {
		return nil
	}
	return t
}
