package translate

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// request_mirror copies the request as the action gets it: after every
// request filter, whatever its position in the list.
func TestMirrorAfterRequestFilters(t *testing.T) {
	rc := &config.Route{
		Name:    "r",
		Timeout: time.Second,
		Matches: []*config.Match{{Path: &config.PathMatch{Prefix: "/old"}}},
		Filters: []*config.Filter{
			{RequestMirror: &config.RequestMirror{Upstream: "shadow", Percent: 100}},
			{RequestHeaders: &config.HeaderFilter{Set: map[string]string{"X-Env": "prod"}}},
			{URLRewrite: &config.URLRewrite{Path: &config.PathRewrite{ReplacePrefixMatch: "/new"}}},
		},
	}
	type seen struct{ path, env string }
	copies := make(chan seen, 1)
	var sendTo string
	env := FilterEnv{Send: func(upstream string) http.Handler {
		sendTo = upstream
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			copies <- seen{reqinfo.FromContext(r.Context()).Path, r.Header.Get("X-Env")}
		})
	}}
	action := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	h := Filters(rc, env)(action)
	r := httptest.NewRequest("GET", "/old/x", nil)
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Path: "/old/x"}))
	h.ServeHTTP(httptest.NewRecorder(), r)
	select {
	case got := <-copies:
		if got.path != "/new/x" || got.env != "prod" || sendTo != "shadow" {
			t.Fatalf("copy to %q saw %+v, want /new/x with X-Env: prod", sendTo, got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no copy sent")
	}
}
