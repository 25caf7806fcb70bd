package kubernetes

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/policy/cors"
)

// TestCORS translates the conformance test HTTPRouteCORS's filters and
// runs its main cases through the cors policy compiled from the parsed
// configuration.
func TestCORS(t *testing.T) {
	res, cfg := extended(t)
	c1 := findRoute(t, cfg, "httproute_infra_cors_0").Policies.CORS
	if !slices.Equal(c1.AllowOrigins, []string{"https://www.foo.com"}) || !slices.Equal(c1.AllowOriginRegex, []string{`https://[a-z0-9.-]*\.bar\.com`}) ||
		!c1.AllowCredentials || c1.MaxAge != time.Hour || !slices.Equal(c1.ExposeHeaders, []string{"x-header-3", "x-header-4"}) {
		t.Errorf("cors-1: %+v", c1)
	}
	c2 := findRoute(t, cfg, "httproute_infra_cors_1").Policies.CORS
	if len(c2.AllowOrigins) != 0 || !slices.Equal(c2.AllowOriginRegex, []string{".*"}) || len(c2.ExposeHeaders) != 0 {
		t.Errorf(`"*" with credentials: %+v`, c2)
	}
	c3 := findRoute(t, cfg, "httproute_infra_cors_2").Policies.CORS
	if !slices.Equal(c3.AllowOrigins, []string{"*"}) || c3.MaxAge != 5*time.Second || c3.AllowCredentials {
		t.Errorf(`"*" without credentials: %+v`, c3)
	}
	if e := errorFor(res, "cors rule 3"); !strings.Contains(e, "is not scheme://host") {
		t.Errorf("ftp origin: %q", e)
	}

	handler := func(c *config.CORS) http.Handler {
		p, err := cors.New(cors.Config{AllowOrigins: c.AllowOrigins, AllowOriginRegex: c.AllowOriginRegex, AllowMethods: c.AllowMethods,
			AllowHeaders: c.AllowHeaders, ExposeHeaders: c.ExposeHeaders, AllowCredentials: c.AllowCredentials, MaxAge: c.MaxAge})
		if err != nil {
			t.Fatal(err)
		}
		return p.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	}
	preflight := func(h http.Handler, origin, method, headers string) http.Header {
		r := httptest.NewRequest("OPTIONS", "/", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			r.Header.Set("Access-Control-Request-Headers", headers)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		w.Header().Set("Status", http.StatusText(w.Code))
		return w.Header()
	}
	h1 := handler(c1)
	for _, origin := range []string{"https://www.foo.com", "https://www.bar.com", "https://xpto.www.bar.com"} {
		h := preflight(h1, origin, "GET", "x-header-1, x-header-2")
		if h.Get("Access-Control-Allow-Origin") != origin || h.Get("Access-Control-Allow-Methods") != "GET, OPTIONS" ||
			h.Get("Access-Control-Allow-Headers") != "x-header-1, x-header-2" || h.Get("Access-Control-Expose-Headers") != "x-header-3, x-header-4" ||
			h.Get("Access-Control-Max-Age") != "3600" || h.Get("Access-Control-Allow-Credentials") != "true" {
			t.Errorf("cors-1 preflight from %s: %v", origin, h)
		}
	}
	if h := preflight(h1, "https://foobar.com", "GET", ""); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("cors-1 non-matching origin allowed: %v", h)
	}
	h := preflight(handler(c2), "https://other.foo.com", "PUT", "x-header-1, x-header-2")
	if h.Get("Access-Control-Allow-Origin") != "https://other.foo.com" || h.Get("Access-Control-Allow-Methods") != "PUT" ||
		h.Get("Access-Control-Allow-Headers") != "x-header-1, x-header-2" || h.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf(`"*" with credentials must echo the origin: %v`, h)
	}
	if h := preflight(handler(c3), "https://foobar.com:12345", "PUT", ""); h.Get("Access-Control-Allow-Origin") != "*" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf(`"*" without credentials: %v`, h)
	}
}

// TestCORSWithPolicy: a CORS filter and a GatehousePolicy on one rule
// both apply (the policy's block, written as given, gets the cors key);
// a GatehousePolicy that sets cors too is a conflict, answered 500.
func TestCORSWithPolicy(t *testing.T) {
	res, cfg := extended(t)
	p := findRoute(t, cfg, "httproute_infra_cors-and-policy_0").Policies
	if p == nil || p.CORS == nil || !slices.Equal(p.CORS.AllowOrigins, []string{"https://www.foo.com"}) || p.IPFilter == nil {
		t.Errorf("CORS filter with a GatehousePolicy: %+v", p)
	}
	if r := findRoute(t, cfg, "httproute_infra_cors-and-policy_1"); r.Respond == nil || r.Respond.Status != 500 {
		t.Errorf("clash: %+v", r)
	}
	if e := errorFor(res, "cors-and-policy rule 1"); !strings.Contains(e, "cannot be combined") {
		t.Errorf("clash error %q", e)
	}
}
