package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/policy/apikey"
	"github.com/gatehouse/gatehouse/internal/policy/auth"
	"github.com/gatehouse/gatehouse/internal/policy/ratelimit"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/store"
)

// BenchmarkPolicyChain is the per-request cost of a typical API route's
// policies in front of a trivial handler: API key authentication, the
// identity headers, and an in-memory rate limit keyed by consumer.
func BenchmarkPolicyChain(b *testing.B) {
	consumers := identity.Consumers{"alice": {Name: "alice", Groups: []string{"customers"}}}
	const key = "bench-key-0123456789abcdef"
	ak, err := apikey.New(apikey.Config{Header: "X-Api-Key", Static: map[[32]byte]string{keystore.HashKey(key): "alice"},
		Consumers: consumers, HideCredentials: true})
	if err != nil {
		b.Fatal(err)
	}
	mem, err := store.NewMemory(store.MemoryOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { mem.Close() })
	parts, _ := ratelimit.ParseKey("consumer")
	rl, err := ratelimit.New(ratelimit.Config{Route: "api", Local: mem, Headers: true,
		Rules: []ratelimit.Rule{{Limit: store.Limit{Rate: 1 << 40, Period: time.Second}, Key: parts}}})
	if err != nil {
		b.Fatal(err)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	chain := auth.New(auth.Config{Methods: []identity.Authenticator{ak}})
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"none", ok}, {"api_key", chain.Wrap(ok)}, {"api_key+rate_limit", chain.Wrap(rl.Wrap(ok))}} {
		b.Run(c.name, func(b *testing.B) {
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest("GET", "/v1/things", nil)
				r.Header.Set("X-Api-Key", key)
				r = r.WithContext(reqinfo.NewContext(r.Context(), &reqinfo.Info{}))
				clear(w.Header())
				c.h.ServeHTTP(w, r)
			}
		})
	}
}
