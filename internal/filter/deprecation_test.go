package filter

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

func TestDeprecationHeaders(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sunset := time.Date(2027, 6, 30, 0, 0, 0, 0, time.FixedZone("CEST", 2*3600))
	const link = "https://docs.example.com/migrate-v2"
	cases := []struct {
		name                  string
		c                     DeprecationConfig
		status                int
		upstreamLink          []string
		wantDep, wantSunset   string
		wantLink              []string
		handlerWritesNothing  bool
		upstreamSaysSunsetTBD bool
	}{
		{name: "since only", c: DeprecationConfig{Since: since}, status: 200, wantDep: "@1767225600"},
		{name: "all, error status", c: DeprecationConfig{Since: since, Sunset: sunset, Link: link}, status: 502,
			wantDep: "@1767225600", wantSunset: "Tue, 29 Jun 2027 22:00:00 GMT",
			wantLink: []string{`<` + link + `>; rel="deprecation"; type="text/html"`, `<` + link + `>; rel="sunset"; type="text/html"`}},
		{name: "link without sunset, appended to the upstream's", c: DeprecationConfig{Since: since, Link: link}, status: 404,
			upstreamLink: []string{`</next>; rel="next"`}, wantDep: "@1767225600",
			wantLink: []string{`</next>; rel="next"`, `<` + link + `>; rel="deprecation"; type="text/html"`}},
		{name: "handler writes nothing", c: DeprecationConfig{Since: since}, handlerWritesNothing: true, status: 200, wantDep: "@1767225600"},
		{name: "upstream's sunset replaced", c: DeprecationConfig{Since: since, Sunset: sunset}, status: 200, upstreamSaysSunsetTBD: true,
			wantDep: "@1767225600", wantSunset: "Tue, 29 Jun 2027 22:00:00 GMT"},
		{name: "zero value adds nothing", status: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := Deprecation(c.c)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c.handlerWritesNothing {
					return
				}
				for _, l := range c.upstreamLink {
					w.Header().Add("Link", l)
				}
				if c.upstreamSaysSunsetTBD {
					w.Header().Set("Sunset", "soon")
				}
				w.WriteHeader(c.status)
			}))
			// Twice: the precomputed values must not be aliased between responses.
			for range 2 {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
				res := rec.Result()
				if res.StatusCode != c.status {
					t.Errorf("status %d", res.StatusCode)
				}
				if got := res.Header.Get("Deprecation"); got != c.wantDep {
					t.Errorf("Deprecation %q, want %q", got, c.wantDep)
				}
				if got := res.Header.Values("Sunset"); c.wantSunset == "" && len(got) > 0 || c.wantSunset != "" && !slices.Equal(got, []string{c.wantSunset}) {
					t.Errorf("Sunset %q, want %q", got, c.wantSunset)
				}
				if got := res.Header.Values("Link"); !slices.Equal(got, c.wantLink) {
					t.Errorf("Link %q, want %q", got, c.wantLink)
				}
			}
		})
	}
}
