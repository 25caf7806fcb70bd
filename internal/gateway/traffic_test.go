package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// tagger is a policy that marks the request with its name.
type tagger string

func (t tagger) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("X-Policy", string(t))
		next.ServeHTTP(w, r)
	})
}

func TestPlanLayerPicksTheConsumersPlan(t *testing.T) {
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	serve := func(h http.Handler, id *identity.Identity) string {
		req := httptest.NewRequest("GET", "/", nil)
		req = req.WithContext(reqinfo.NewContext(req.Context(), &reqinfo.Info{Identity: id}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Header().Get("X-Policy")
	}
	h := planLayer(tagger("route"), map[string]wrapper{"gold": tagger("gold")})(ok)
	gold := &identity.Identity{Consumer: &identity.Consumer{Name: "a", Plan: "gold"}}
	free := &identity.Identity{Consumer: &identity.Consumer{Name: "b", Plan: "free"}}
	for _, c := range []struct {
		id   *identity.Identity
		want string
	}{{gold, "gold"}, {free, "route"}, {nil, "route"}, {&identity.Identity{Subject: "jwt-user"}, "route"}} {
		if got := serve(h, c.id); got != c.want {
			t.Errorf("%+v: policy %q, want %q", c.id, got, c.want)
		}
	}
	// Without route rules, consumers without a plan pass unlimited.
	h = planLayer(nil, map[string]wrapper{"gold": tagger("gold")})(ok)
	if got := serve(h, free); got != "" {
		t.Errorf("no default policy: got %q", got)
	}
	if got := serve(h, gold); got != "gold" {
		t.Errorf("gold: got %q", got)
	}
}
