package translate

import (
	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/router"
)

// RouterMatch is a route match for the router.
func RouterMatch(m *config.Match) router.Match {
	rm := router.Match{Hosts: m.Hosts, Methods: m.Methods, Path: router.PathMatch{Type: router.PathPrefix, Value: "/"}}
	if pm := m.Path; pm != nil {
		switch {
		case pm.Exact != "":
			rm.Path = router.PathMatch{Type: router.PathExact, Value: pm.Exact}
		case pm.Template != "":
			rm.Path = router.PathMatch{Type: router.PathTemplate, Value: pm.Template}
		case pm.Regex != "":
			rm.Path = router.PathMatch{Type: router.PathRegex, Value: pm.Regex}
		case pm.Prefix != "":
			rm.Path = router.PathMatch{Type: router.PathPrefix, Value: pm.Prefix}
		}
	}
	rm.Headers = valueMatches(m.Headers)
	rm.Query = valueMatches(m.Query)
	return rm
}

func valueMatches(vs []*config.ValueMatch) []router.ValueMatch {
	out := make([]router.ValueMatch, 0, len(vs))
	for _, v := range vs {
		switch {
		case v.Present:
			out = append(out, router.ValueMatch{Name: v.Name, Type: router.ValuePresent})
		case v.Regex != "":
			out = append(out, router.ValueMatch{Name: v.Name, Type: router.ValueRegex, Value: v.Regex})
		default:
			out = append(out, router.ValueMatch{Name: v.Name, Type: router.ValueExact, Value: v.Value})
		}
	}
	return out
}
