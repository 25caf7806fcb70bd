package kubernetes

import (
	"strings"
	"testing"
)

// TestInvalidValuesStayOut: values the API server would have refused drop
// their rule, listener or object with a located error, and what remains
// still loads with config.Parse.
func TestInvalidValuesStayOut(t *testing.T) {
	res := Translate(load(t, "invalid.yaml"), Options{})
	cfg := parse(t, res)

	var routes []string
	for _, r := range cfg.Routes {
		routes = append(routes, r.Name)
	}
	// Rules 0-6 are invalid; rule 7 answers 500 (its only backend has
	// weight 0) without the URL rewrite; rule 8 has a backend.
	if got := strings.Join(routes, " "); got != "httproute_default_values_7 httproute_default_values_8" {
		t.Errorf("routes %q", got)
	}
	r7 := cfg.Routes[0]
	if r7.Respond == nil || r7.Respond.Status != 500 || len(r7.Filters) != 0 {
		t.Errorf("rule 7: respond %+v filters %d", r7.Respond, len(r7.Filters))
	}
	// Two refs to the same Service collapse into one target.
	if u := findUpstream(t, cfg, "httproute_default_values_8"); len(u.Targets) != 1 || u.Balance != "round_robin" {
		t.Errorf("rule 8 upstream %+v", u.Targets)
	}

	errs := []string{}
	for _, e := range res.Errors {
		errs = append(errs, e.Error())
	}
	all := strings.Join(errs, "\n")
	for _, want := range []string{
		"invalid.yaml:16: HTTPRoute default/values rule 0: path regex \"(unclosed\" does not compile",
		"rule 1: path \"no-slash\" must start with /",
		"rule 2: invalid header name \"bad name\"",
		"rule 3: header \"X-A\" has an invalid value",
		"rule 4: ReplacePrefixMatch needs PathPrefix matches",
		"rule 5: redirect status 200 is not a redirect",
		"rule 6: timeouts.request \"soon\" is not a duration",
		"invalid.yaml:43: HTTPRoute default/values is defined twice (first at invalid.yaml:16)",
		"invalid.yaml:49: HTTPRoute: invalid metadata.name \"Bad_Name\"",
		"invalid.yaml:55: HTTPRoute default/bad-hostnames: invalid hostname \"a..b\"",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing error %q in\n%s", want, all)
		}
	}
	wantCond(t, res, "Gateway", "default", "gw", "bad-host", "Accepted", "False", "UnsupportedValue")
	// Indistinct listeners are all rejected, none wins; a distinct
	// neighbour on the same port is kept.
	for _, l := range []string{"dup-a", "dup-b"} {
		wantCond(t, res, "Gateway", "default", "gw", l, "Conflicted", "True", "HostnameConflict")
		wantCond(t, res, "Gateway", "default", "gw", l, "Accepted", "False", "HostnameConflict")
	}
	wantCond(t, res, "Gateway", "default", "gw", "dup-c", "Accepted", "True", "Accepted")
	for _, l := range []string{"clash-http", "clash-tcp"} {
		wantCond(t, res, "Gateway", "default", "gw", l, "Conflicted", "True", "ProtocolConflict")
	}
	wantCond(t, res, "HTTPRoute", "default", "values", "", "PartiallyInvalid", "True", "UnsupportedValue")
	// One default route per tcp listener: the first by name keeps it.
	wantCond(t, res, "TCPRoute", "default", "a-first", "Gateway default/gw/tcp", "Accepted", "True", "Accepted")
	wantCond(t, res, "TCPRoute", "default", "b-second", "Gateway default/gw/tcp", "Accepted", "False", "UnsupportedValue")
	if len(cfg.L4Routes) != 1 || cfg.L4Routes[0].Upstream != "tcproute_default_a-first" {
		t.Errorf("l4 routes %+v", cfg.L4Routes)
	}
}
