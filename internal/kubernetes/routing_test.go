package kubernetes

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway/translate"
	"github.com/gatehouse/gatehouse/internal/router"
)

// routeFor runs Gatehouse's own router over the routes of one listener of
// a translated (and config.Parse'd) configuration, as the gateway builds
// it, and returns the name of the route a request gets ("" = none).
func routeFor(t *testing.T, cfg *config.Config, listener, host, path string, header http.Header) string {
	t.Helper()
	var rules []router.Rule[string]
	for _, rc := range cfg.Routes {
		on := len(rc.Listeners) == 0
		for _, l := range rc.Listeners {
			on = on || l == listener
		}
		if !on {
			continue
		}
		matches := rc.Matches
		if rc.Match != nil {
			matches = []*config.Match{rc.Match}
		}
		rule := router.Rule[string]{Value: rc.Name}
		for _, m := range matches {
			rule.Matches = append(rule.Matches, translate.RouterMatch(m))
		}
		rules = append(rules, rule)
	}
	r, err := router.New(rules)
	if err != nil {
		t.Fatal(err)
	}
	if header == nil {
		header = http.Header{}
	}
	name, _ := r.Match(host, http.MethodPost, path, header, "", nil)
	return name
}

func routeNames(rs []*config.Route) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return out
}
