package kubernetes

import (
	"fmt"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// An HTTPRoute RequestMirror filter (HTTPRequestMirrorFilter) becomes a
// request_mirror filter whose upstream is the mirror's backendRef alone,
// named mirror_NS_ROUTE_RULE_N (RULE as in names.go, N: the filter's
// index in the rule), so
// each copy goes to one endpoint of that Service as the API requires.
// percent, or fraction as a percentage, is the share copied (neither:
// 100); a share of 0 mirrors nothing, so no filter is written. A
// backendRef that does not resolve makes ResolvedRefs False and the
// mirror is left out, the rule served without it. Mirrors are kept only
// on rules that forward: a redirect or a 500 answer sends nothing.

// checkMirror checks a RequestMirror filter as the CRD would.
func checkMirror(m *gwv1.HTTPRequestMirrorFilter) error {
	if m == nil {
		return fmt.Errorf("RequestMirror filter without its settings")
	}
	if m.Percent != nil && m.Fraction != nil {
		return fmt.Errorf("RequestMirror takes percent or fraction, not both")
	}
	if p := m.Percent; p != nil && (*p < 0 || *p > 100) {
		return fmt.Errorf("RequestMirror percent %d is not within 0-100", *p)
	}
	if f := m.Fraction; f != nil {
		d := int32(100)
		if f.Denominator != nil {
			d = *f.Denominator
		}
		if d < 1 || f.Numerator < 0 || f.Numerator > d {
			return fmt.Errorf("RequestMirror fraction %d/%d is not within 0-1", f.Numerator, d)
		}
	}
	return nil
}

// mirrorPercent is the share of requests a checked mirror copies.
func mirrorPercent(m *gwv1.HTTPRequestMirrorFilter) float64 {
	switch {
	case m.Percent != nil:
		return float64(*m.Percent)
	case m.Fraction != nil:
		d := int32(100)
		if m.Fraction.Denominator != nil {
			d = *m.Fraction.Denominator
		}
		return float64(m.Fraction.Numerator) * 100 / float64(d)
	}
	return 100
}

// mirrors resolves a rule's RequestMirror filters, indexed like
// rule.Filters (nil where nothing is mirrored), and reports the first
// backendRef that did not resolve.
func (t *translator) mirrors(routeKind, ns, name, ruleName string, rule gwv1.HTTPRouteRule) ([]*config.Filter, *backendProblem) {
	out := make([]*config.Filter, len(rule.Filters))
	var bad *backendProblem
	for i, f := range rule.Filters {
		if f.Type != gwv1.HTTPRouteFilterRequestMirror {
			continue
		}
		pct := mirrorPercent(f.RequestMirror)
		ref := f.RequestMirror.BackendRef
		w, p := t.resolveRef(routeKind, ns, gwv1.BackendRef{BackendObjectReference: ref}, "http")
		proto := ""
		if p == nil {
			proto, p = t.refProtocol(ns, ref)
		}
		if p != nil {
			if bad == nil {
				bad = p
			}
			continue
		}
		if pct <= 0 {
			continue
		}
		u := t.upstream(joinName("mirror", ns, name, ruleName, i), []weighted{w})
		if u == nil {
			continue // no ready endpoint: nothing to copy to
		}
		u.Protocol = proto
		m := &config.RequestMirror{Upstream: u.Name}
		if pct < 100 {
			m.Percent = pct
		}
		out[i] = &config.Filter{RequestMirror: m}
	}
	return out, bad
}
