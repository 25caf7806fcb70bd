package plans

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// tag is a policy that marks the request with its name.
type tag string

func (t tag) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Policy", string(t))
		next.ServeHTTP(w, r)
	})
}

func run(h http.Handler, id *identity.Identity) []string {
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{Identity: id}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec.Header().Values("X-Policy")
}

func TestSelect(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h := Select(tag("route"), map[string]Wrapper{"gold": tag("gold")})(ok)
	gold := &identity.Identity{Consumer: &identity.Consumer{Name: "a", Plan: "gold"}}
	free := &identity.Identity{Consumer: &identity.Consumer{Name: "b", Plan: "free"}}
	for _, c := range []struct {
		id   *identity.Identity
		want string
	}{{gold, "gold"}, {free, "route"}, {nil, "route"}, {&identity.Identity{Subject: "jwt-user"}, "route"}} {
		if got := run(h, c.id); len(got) != 1 || got[0] != c.want {
			t.Errorf("%+v: got %v, want %s", c.id, got, c.want)
		}
	}
	// No route default: callers without a matching plan pass unlimited.
	if got := run(Select(nil, map[string]Wrapper{"gold": tag("gold")})(ok), free); len(got) != 0 {
		t.Errorf("no default: %v", got)
	}
}
