package kubernetes

import (
	"strings"
	"testing"
)

// TestListenerIsolation runs the request table of the conformance test
// GatewayHTTPListenerIsolation (both of its Gateways, manifests copied
// from the suite) through Gatehouse's router over the translation: each
// host reaches only the routes of its most specific listener; other
// paths get the isolation 404 route or no route (also 404).
func TestListenerIsolation(t *testing.T) {
	cases := []struct{ host, path, want string }{
		{"bar.com", "/empty-hostname", "empty-hostname"},
		{"bar.com", "/wildcard-example-com", ""},
		{"bar.com", "/wildcard-foo-example-com", ""},
		{"bar.com", "/abc-foo-example-com", ""},
		{"bar.example.com", "/empty-hostname", ""},
		{"bar.example.com", "/wildcard-example-com", "wildcard-example-com"},
		{"bar.example.com", "/wildcard-foo-example-com", ""},
		{"bar.example.com", "/abc-foo-example-com", ""},
		{"bar.foo.example.com", "/empty-hostname", ""},
		{"bar.foo.example.com", "/wildcard-example-com", ""},
		{"bar.foo.example.com", "/wildcard-foo-example-com", "wildcard-foo-example-com"},
		{"bar.foo.example.com", "/abc-foo-example-com", ""},
		{"abc.foo.example.com", "/empty-hostname", ""},
		{"abc.foo.example.com", "/wildcard-example-com", ""},
		{"abc.foo.example.com", "/wildcard-foo-example-com", ""},
		{"abc.foo.example.com", "/abc-foo-example-com", "abc-foo-example-com"},
	}
	for _, file := range []string{"isolation.yaml", "isolation-intersection.yaml"} {
		t.Run(file, func(t *testing.T) {
			res := Translate(load(t, file), Options{})
			cfg := parse(t, res)
			for _, c := range cases {
				got := routeFor(t, cfg, "http-80", c.host, c.path, nil)
				// Route names are httproute_NS_attaches-to-LISTENER[-with-...]_0.
				ok := got == "" || strings.HasPrefix(got, "isolation_")
				if c.want != "" {
					ok = strings.HasPrefix(got, "httproute_gateway-conformance-infra_attaches-to-"+c.want+"_") ||
						strings.HasPrefix(got, "httproute_gateway-conformance-infra_attaches-to-"+c.want+"-with-")
				}
				if !ok {
					t.Errorf("%s%s → route %q, want %q", c.host, c.path, got, c.want)
				}
			}
			gw := "http-listener-isolation"
			suffix := ""
			if file != "isolation.yaml" {
				gw += "-with-hostname-intersection"
				suffix = "-with-hostname-intersection"
			}
			for _, l := range []string{"empty-hostname", "wildcard-example-com", "wildcard-foo-example-com", "abc-foo-example-com"} {
				wantCond(t, res, "HTTPRoute", "gateway-conformance-infra", "attaches-to-"+l+suffix,
					"Gateway gateway-conformance-infra/"+gw+"/"+l, "Accepted", "True", "Accepted")
			}
		})
	}
}
