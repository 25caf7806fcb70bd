package translate

import (
	"net/http"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// TestTargetHeaders: a target's request_headers become the proxy's edit
// for that target's host:port (the pool's key); Host is never edited.
func TestTargetHeaders(t *testing.T) {
	u := &config.Upstream{Targets: []*config.Target{
		{URL: "http://10.0.0.1:8080", RequestHeaders: &config.HeaderFilter{Set: map[string]string{"Backend": "v1", "Host": "x"}}},
		{URL: "http://10.0.0.2:8080"},
	}}
	th := TargetHeaders(u)
	if len(th) != 1 || th["10.0.0.1:8080"] == nil {
		t.Fatalf("edits %v", th)
	}
	h := http.Header{}
	th["10.0.0.1:8080"](h)
	if h.Get("Backend") != "v1" || h["Host"] != nil {
		t.Errorf("edited header %v", h)
	}
	if TargetHeaders(&config.Upstream{Targets: []*config.Target{{URL: "http://a:1"}}}) != nil {
		t.Error("edits without request_headers")
	}
}
