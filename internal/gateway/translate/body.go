package translate

import (
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/filter"
	"github.com/gatehouse/gatehouse/internal/jsonxform"
)

// BodyTransform compiles a request_body (direction "request") or
// response_body ("response") filter of route. The configuration was
// validated, which compiled the same transform, so an error here is a
// bug; the filter then passes bodies through rather than failing. when
// is a response filter's condition (a request filter's is applied by
// conditional, around the whole filter).
func BodyTransform(b *config.BodyTransform, route, direction string, when func(*http.Request, int, http.Header) bool, env FilterEnv) func(http.Handler) http.Handler {
	c := filter.BodyConfig{Transform: compileBody(b), MaxBytes: b.MaxBytes, When: when}
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
		c.Set = append(c.Set, assign(k, b.Set[k]))
	}
	t, err := jsonxform.New(c)
	if err != nil {
		return nil
	}
	return t
}

// assign is one set: entry. A string value with ${...} is a template
// over the request's variables (the filter passes the request as Apply's
// arg); a one-variable template keeps its JSON type (${jwt.roles} sets
// an array). Validation compiled it; a failure here sets the literal.
func assign(path string, value any) jsonxform.Assign {
	a := jsonxform.Assign{Path: path, Value: value}
	s, ok := value.(string)
	if !ok || !strings.Contains(s, "${") {
		return a
	}
	t, err := expr.CompileTemplate(s, expr.ScopeRequest)
	if err != nil {
		return a
	}
	if lit, static := t.Literal(); static {
		a.Value = lit // only $${ escapes
		return a
	}
	a.Dynamic = func(arg any) any {
		r, _ := arg.(*http.Request)
		if r == nil {
			return nil
		}
		return t.Value(&expr.Vars{Req: r})
	}
	return a
}
