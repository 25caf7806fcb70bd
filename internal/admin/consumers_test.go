package admin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
)

func newAPI(t *testing.T, token string) (http.Handler, keystore.Store) {
	t.Helper()
	st, err := keystore.OpenBolt(filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := identity.Consumers{"alice": {Name: "alice", Groups: []string{"admin"}}}
	api := &API{Token: func() string { return token }, Consumers: func() identity.Consumers { return cs }, Keys: func() keystore.Store { return st }}
	return Handler(prometheus.NewRegistry(), func() bool { return true }, api), st
}

func call(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestKeyLifecycle(t *testing.T) {
	h, st := newAPI(t, "s3cret")
	rec := call(h, "POST", "/consumers/alice/keys", "s3cret")
	if rec.Code != http.StatusCreated || rec.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("issue: %d %s", rec.Code, rec.Body)
	}
	var issued keyView
	if err := json.Unmarshal(rec.Body.Bytes(), &issued); err != nil || !strings.HasPrefix(issued.Key, keystore.KeyPrefix) || issued.ID == "" {
		t.Fatalf("issued %+v %v", issued, err)
	}
	if _, ok, _ := st.Lookup(t.Context(), keystore.HashKey(issued.Key)); !ok {
		t.Fatal("issued key not in the store")
	}
	rec = call(h, "GET", "/consumers/alice/keys", "s3cret")
	if rec.Code != 200 || strings.Contains(rec.Body.String(), issued.Key) || !strings.Contains(rec.Body.String(), issued.ID) {
		t.Fatalf("list must show the id but never the key: %d %s", rec.Code, rec.Body)
	}
	if rec := call(h, "DELETE", "/consumers/alice/keys/"+issued.ID, "s3cret"); rec.Code != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if _, ok, _ := st.Lookup(t.Context(), keystore.HashKey(issued.Key)); ok {
		t.Fatal("revoked key still found")
	}
	if rec := call(h, "DELETE", "/consumers/alice/keys/"+issued.ID, "s3cret"); rec.Code != http.StatusNotFound {
		t.Fatalf("second revoke: %d", rec.Code)
	}
}

func TestAdminAuth(t *testing.T) {
	h, _ := newAPI(t, "s3cret")
	for _, tok := range []string{"", "wrong", "s3cre"} {
		rec := call(h, "POST", "/consumers/alice/keys", tok)
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" ||
			!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
			t.Errorf("token %q: %d %v", tok, rec.Code, rec.Header())
		}
	}
	if rec := call(h, "POST", "/consumers/bob/keys", "s3cret"); rec.Code != http.StatusNotFound {
		t.Errorf("unknown consumer: %d", rec.Code)
	}
	if rec := call(h, "GET", "/consumers", "s3cret"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"alice"`) {
		t.Errorf("list consumers: %d %s", rec.Code, rec.Body)
	}
	off, _ := newAPI(t, "")
	if rec := call(off, "GET", "/consumers", "anything"); rec.Code != http.StatusForbidden {
		t.Errorf("disabled API: %d", rec.Code)
	}
}
