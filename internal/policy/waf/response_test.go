package waf

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// sqlLeak is a database error page, caught by the CRS response rules (951).
const sqlLeak = "<html><body>You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '1'</body></html>"

func respond(contentType, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("X-Upstream", "1")
		w.WriteHeader(200)
		// Several writes, as a proxy copying a stream would.
		for len(body) > 0 {
			n := min(len(body), 4096)
			w.Write([]byte(body[:n]))
			body = body[n:]
		}
	})
}

func TestResponseInspection(t *testing.T) {
	inspect, logs := newWAF(t, Config{InspectResponse: true})
	plain, _ := newWAF(t, Config{})

	rec := serve(inspect.Wrap(respond("text/html", sqlLeak)), httptest.NewRequest("GET", "/", nil))
	if rec.Code != 403 || strings.Contains(rec.Body.String(), "SQL") || rec.Header().Get("X-Upstream") != "" {
		t.Fatalf("leak not blocked: %d %q %v", rec.Code, rec.Body, rec.Header())
	}
	if l := logs.lines(t); len(l) != 1 || l[0]["msg"] != "waf blocked" {
		t.Fatalf("log %v", l)
	}

	// Without response inspection the leak goes out.
	if rec := serve(plain.Wrap(respond("text/html", sqlLeak)), httptest.NewRequest("GET", "/", nil)); rec.Code != 200 {
		t.Fatalf("status %d", rec.Code)
	}

	// Clean responses, held or streamed past the limit, arrive intact.
	for name, body := range map[string]string{
		"small": `{"ok":true}`,
		"large": `{"data":"` + strings.Repeat("x", responseBodyLimit+10_000) + `"}`,
	} {
		t.Run(name, func(t *testing.T) {
			rec := serve(inspect.Wrap(respond("application/json", body)), httptest.NewRequest("GET", "/", nil))
			if rec.Code != 200 || rec.Body.String() != body || rec.Header().Get("X-Upstream") != "1" {
				t.Fatalf("status %d, %d bytes of %d", rec.Code, rec.Body.Len(), len(body))
			}
		})
	}

	// Types not inspected stream straight through.
	bin := string(bytes.Repeat([]byte{0, 1, 2}, 1000))
	if rec := serve(inspect.Wrap(respond("application/octet-stream", bin)), httptest.NewRequest("GET", "/", nil)); rec.Body.String() != bin {
		t.Fatal("binary body altered")
	}
}

func TestResponseInspectionDetectMode(t *testing.T) {
	w, logs := newWAF(t, Config{InspectResponse: true, Mode: ModeDetect})
	rec := serve(w.Wrap(respond("text/html", sqlLeak)), httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Body.String() != sqlLeak {
		t.Fatalf("detect mode altered the response: %d", rec.Code)
	}
	if l := logs.lines(t); len(l) != 1 || l[0]["msg"] != "waf detected" {
		t.Fatalf("log %v", l)
	}
}

// An engine no WAF uses any more is dropped from the cache.
func TestEngineCacheReleasesUnusedEngines(t *testing.T) {
	cfg, err := Config{Directives: "# cache release test"}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	key := cfg.directives()
	w, err := New(Config{Directives: "# cache release test"})
	if err != nil {
		t.Fatal(err)
	}
	present := func() bool {
		engineCache.mu.Lock()
		defer engineCache.mu.Unlock()
		_, ok := engineCache.engines[key]
		return ok
	}
	if !present() {
		t.Fatal("engine not cached")
	}
	runtime.KeepAlive(w)
	w = nil
	// Cleanups run on their own goroutine after the collection.
	for i := 0; present(); i++ {
		if i == 1000 {
			t.Fatal("unused engine still cached")
		}
		runtime.GC()
		runtime.Gosched()
	}
}
