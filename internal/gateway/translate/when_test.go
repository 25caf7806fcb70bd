package translate

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// when: skips request filters (headers, query, url_rewrite, mirror) whose
// condition is false and applies those whose condition holds; a
// response_headers filter gets its condition evaluated on the response.
func TestFiltersWhen(t *testing.T) {
	rc := &config.Route{
		Name:    "r",
		Timeout: time.Second,
		Matches: []*config.Match{{Path: &config.PathMatch{Prefix: "/old"}}},
		Filters: []*config.Filter{
			{RequestHeaders: &config.HeaderFilter{Set: config.Templates{"X-A": "${method}"}}, When: `header["x-on"] == "1"`},
			{Query: &config.QueryFilter{Set: config.Templates{"q": "1"}}, When: `header["x-on"] == "1"`},
			{URLRewrite: &config.URLRewrite{Path: &config.PathRewrite{ReplacePrefixMatch: "/new"}}, When: `header["x-on"] == "1"`},
			{RequestMirror: &config.RequestMirror{Upstream: "shadow", Percent: 100}, When: `header["x-on"] == "1"`},
			{ResponseHeaders: &config.HeaderFilter{Set: config.Templates{"X-S": "${status}"}}, When: `status == 201 && header["x-on"] == "1"`},
		},
	}
	copies := make(chan string, 4)
	env := FilterEnv{Send: func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { copies <- r.Header.Get("X-On") })
	}}
	type seen struct{ a, query, path string }
	var got seen
	h := Filters(rc, env)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = seen{r.Header.Get("X-A"), r.URL.RawQuery, reqinfo.FromContext(r.Context()).Path}
		w.WriteHeader(201)
	}))
	serve := func(on string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/old/x", nil)
		if on != "" {
			r.Header.Set("X-On", on)
		}
		r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Path: "/old/x"}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := serve("0")
	if got != (seen{"", "", "/old/x"}) || rec.Header().Get("X-S") != "" {
		t.Fatalf("condition false: %+v, X-S %q", got, rec.Header().Get("X-S"))
	}
	rec = serve("1")
	if got != (seen{"GET", "q=1", "/new/x"}) || rec.Header().Get("X-S") != "201" {
		t.Fatalf("condition true: %+v, X-S %q", got, rec.Header().Get("X-S"))
	}
	// Only the second request was mirrored.
	select {
	case on := <-copies:
		if on != "1" {
			t.Fatalf("mirrored the request with X-On %q", on)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no copy sent")
	}
	select {
	case on := <-copies:
		t.Fatalf("a second copy (X-On %q)", on)
	default:
	}
}
