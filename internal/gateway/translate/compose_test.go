package translate

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// A step's when: is a CEL condition over the request and earlier steps:
// false skips the step (absent from the answer, not missing).
func TestComposeWhen(t *testing.T) {
	rc := &config.Route{Name: "r", Compose: &config.Compose{Steps: []*config.ComposeStep{
		{Name: "a", Upstream: "u", URL: "/a"},
		{Name: "b", Upstream: "u", URL: "/b", Needs: []string{"a"}, When: `header["x-with-b"] == "1" && steps.a.ok == true`},
	}}}
	send := func(string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"ok":true}`))
		})
	}
	h := Compose(rc, ComposeEnv{Send: send})
	for _, c := range []struct{ header, want string }{
		{"", `{"a":{"ok":true}}`},
		{"1", `{"a":{"ok":true},"b":{"ok":true}}`},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		if c.header != "" {
			r.Header.Set("X-With-B", c.header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 200 || strings.TrimSpace(w.Body.String()) != c.want || w.Header().Get("Gatehouse-Missing-Steps") != "" {
			t.Errorf("x-with-b %q: %d %s (missing %q), want %s", c.header, w.Code, w.Body, w.Header().Get("Gatehouse-Missing-Steps"), c.want)
		}
	}
}
