package translate

import (
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/jsonxform"
)

// composeShape compiles a step's result shaping, in KrakenD's order:
// target (take a sub-value), allow (keep only these paths), deny (drop
// these), mapping (rename), with jsonxform's paths. A result that is an
// array is shaped element by element (KrakenD's is_collection without
// the flag: a step's answer is either a document or a list of them). nil
// when the step shapes nothing; validation compiled the same paths, so an
// error here leaves the result unshaped.
func composeShape(s *config.ComposeStep) func(any) (any, error) {
	if s.Target == "" && len(s.Allow) == 0 && len(s.Deny) == 0 && len(s.Mapping) == 0 {
		return nil
	}
	target, err1 := jsonxform.New(jsonxform.Config{Extract: s.Target})
	each, err2 := jsonxform.New(jsonxform.Config{Allow: s.Allow, Deny: s.Deny, Rename: s.Mapping})
	if err1 != nil || err2 != nil {
		return nil
	}
	return func(v any) (any, error) {
		var err error
		if s.Target != "" {
			if v, err = target.Apply(v, nil); err != nil {
				return nil, err
			}
		}
		a, ok := v.([]any)
		if !ok {
			return each.Apply(v, nil)
		}
		out := make([]any, len(a))
		for i, e := range a {
			if out[i], err = each.Apply(e, nil); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}
