package kubernetes

import (
	"strings"
	"testing"
)

// TestMirror: each RequestMirror is a request_mirror filter, in rule
// order, with its own upstream mirror_NS_ROUTE_RULE_N; fraction becomes a
// percentage, 0% writes no filter, an unresolved backendRef leaves the
// mirror out with ResolvedRefs False, percent with fraction drops the
// rule; config.Parse accepts the result.
func TestMirror(t *testing.T) {
	res := Translate(load(t, "mirror.yaml"), Options{SecretDir: t.TempDir()})
	y, err := Encode(res.Config)
	if err != nil || !strings.Contains(string(y), "request_mirror:\n            upstream: mirror_infra_mirror_0_2\n            percent: 50") {
		t.Errorf("encoding: %v\n%s", err, y)
	}
	cfg := parse(t, res)
	r := findRoute(t, cfg, "httproute_infra_mirror_0")
	if len(r.Filters) != 3 || r.Filters[0].RequestHeaders == nil ||
		r.Filters[1].RequestMirror.Upstream != "mirror_infra_mirror_0_1" || r.Filters[1].RequestMirror.Percent != 100 ||
		r.Filters[2].RequestMirror.Upstream != "mirror_infra_mirror_0_2" || r.Filters[2].RequestMirror.Percent != 50 {
		t.Errorf("rule 0 filters: %+v", r.Filters)
	}
	if u := findUpstream(t, cfg, "mirror_infra_mirror_0_1"); len(u.Targets) != 1 || u.Targets[0].URL != "http://echo-v2.infra.svc:8080" {
		t.Errorf("mirror upstream: %+v", u.Targets)
	}
	if r := findRoute(t, cfg, "httproute_infra_mirror_1"); len(r.Filters) != 1 || r.Filters[0].RequestMirror.Percent != 20 {
		t.Errorf("rule 1 (20%% and 0%%): %+v", r.Filters)
	}
	if r := findRoute(t, cfg, "httproute_infra_mirror_2"); len(r.Filters) != 0 || r.Backend == nil {
		t.Errorf("rule 2 (missing mirror backend): filters %+v backend %+v", r.Filters, r.Backend)
	}
	wantCond(t, res, "HTTPRoute", "infra", "mirror", "", "ResolvedRefs", "False", "BackendNotFound")
	if e := errorFor(res, "mirror rule 3"); !strings.Contains(e, "percent or fraction, not both") {
		t.Errorf("percent and fraction: %q", e)
	}
}
