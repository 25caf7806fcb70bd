package kubernetes

import (
	"fmt"
	"reflect"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// backendRef-level filters (HTTPBackendRef.Filters) run only for requests
// forwarded to that backend.
//
//   - A rule with one backendRef: its filters (RequestHeaderModifier,
//     ResponseHeaderModifier, URLRewrite) are appended to the route's
//     filters, after the rule's, which is the same thing.
//   - A rule with several backendRefs (a weighted split): the target is
//     picked by the proxy, so only a RequestHeaderModifier can follow it:
//     it becomes request_headers on each target of that backendRef, which
//     the proxy applies to requests sent to that target. An endpoint shared
//     by two backendRefs with different filters cannot tell them apart, so
//     the rule is dropped. Response header edits and URL rewrites per
//     backend in a split would need the proxy to pick the backend before
//     the route's filters run; they are refused (the rule is dropped).

// checkBackendFilters checks a rule's backendRef filters.
func checkBackendFilters(rule gwv1.HTTPRouteRule) error {
	split := len(rule.BackendRefs) > 1
	rewrites := 0
	for _, f := range rule.Filters {
		if f.Type == gwv1.HTTPRouteFilterURLRewrite {
			rewrites++
		}
	}
	for _, br := range rule.BackendRefs {
		reqHeaders := 0
		for _, f := range br.Filters {
			switch f.Type {
			case gwv1.HTTPRouteFilterRequestHeaderModifier:
				reqHeaders++
				if split && reqHeaders > 1 {
					return fmt.Errorf("backendRef %s: one RequestHeaderModifier per backendRef in a weighted split", br.Name)
				}
			case gwv1.HTTPRouteFilterResponseHeaderModifier, gwv1.HTTPRouteFilterURLRewrite:
				if split {
					return fmt.Errorf("backendRef %s: filter %s is not supported on one backend of several (only RequestHeaderModifier is)", br.Name, f.Type)
				}
				if f.Type == gwv1.HTTPRouteFilterURLRewrite {
					if rewrites++; rewrites > 1 {
						return fmt.Errorf("a rule and its backendRef take at most one URLRewrite")
					}
				}
			default:
				return fmt.Errorf("backendRef %s: filter %s is not supported at backendRef level", br.Name, f.Type)
			}
			if err := checkFilter(f, rule.Matches); err != nil {
				return fmt.Errorf("backendRef %s: %v", br.Name, err)
			}
		}
	}
	return nil
}

// backendFilters are the filters of a rule's single backendRef as route
// filters (nil for a weighted split: see targetHeaders).
func backendFilters(rule gwv1.HTTPRouteRule) []*config.Filter {
	if len(rule.BackendRefs) != 1 {
		return nil
	}
	var out []*config.Filter
	for _, f := range rule.BackendRefs[0].Filters {
		switch f.Type {
		case gwv1.HTTPRouteFilterRequestHeaderModifier:
			out = append(out, &config.Filter{RequestHeaders: headerFilter(f.RequestHeaderModifier)})
		case gwv1.HTTPRouteFilterResponseHeaderModifier:
			out = append(out, &config.Filter{ResponseHeaders: headerFilter(f.ResponseHeaderModifier)})
		case gwv1.HTTPRouteFilterURLRewrite:
			out = append(out, &config.Filter{URLRewrite: urlRewrite(f.URLRewrite)})
		}
	}
	return out
}

// splitHeaders collects, for a weighted split, each target URL's request
// header edit (nil: none) from the backendRef it came from; ok is false
// when one URL would need two different edits.
type splitHeaders map[string]*config.HeaderFilter

func (s splitHeaders) add(br gwv1.HTTPBackendRef, urls []string) (ok bool) {
	var hf *config.HeaderFilter
	for _, f := range br.Filters {
		if f.Type == gwv1.HTTPRouteFilterRequestHeaderModifier {
			hf = headerFilter(f.RequestHeaderModifier)
		}
	}
	for _, u := range urls {
		if prev, seen := s[u]; seen && !reflect.DeepEqual(prev, hf) {
			return false
		}
		s[u] = hf
	}
	return true
}

// apply sets the edits on the targets of upstream u.
func (s splitHeaders) apply(u *config.Upstream) {
	for _, tg := range u.Targets {
		if hf := s[tg.URL]; hf != nil {
			tg.RequestHeaders = hf
		}
	}
}
