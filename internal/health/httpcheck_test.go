package health

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// probeHTTP runs one HTTP check of srvURL with cfg.
func probeHTTP(t *testing.T, cfg CheckConfig, srvURL string) error {
	t.Helper()
	return probeOnce(t, cfg, srvURL, 10*time.Second, func(c CheckConfig) prober { return newHTTPProber(c) })
}

// TestHTTPCheckRequest: method, path with query, Host override and the
// User-Agent reach the target, and keep-alive is off so checks never hold
// or reuse connections.
func TestHTTPCheckRequest(t *testing.T) {
	var got atomic.Pointer[http.Request]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r)
	}))
	defer srv.Close()
	err := probeHTTP(t, CheckConfig{Method: http.MethodHead, Path: "/status?deep=1", Host: "api.internal"}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r := got.Load()
	if r.Method != http.MethodHead || r.URL.Path != "/status" || r.URL.RawQuery != "deep=1" || r.Host != "api.internal" {
		t.Fatalf("target saw %s %s host %q", r.Method, r.URL, r.Host)
	}
	if !strings.HasPrefix(r.UserAgent(), "gatehouse-health-check") {
		t.Errorf("User-Agent %q", r.UserAgent())
	}
	if !r.Close {
		t.Error("check request allows keep-alive; checks must use a fresh connection each time")
	}
}

func TestHTTPCheckStatusRanges(t *testing.T) {
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	tests := []struct {
		ranges [][2]int
		status int
		ok     bool
	}{
		{nil, 200, true},
		{nil, 204, true},
		{nil, 399, true},
		{nil, 400, false},
		{nil, 503, false},
		{[][2]int{{200, 200}}, 204, false},
		{[][2]int{{200, 200}, {418, 418}}, 418, true},
		{[][2]int{{500, 599}}, 503, true},
		{[][2]int{{500, 599}}, 200, false},
	}
	for _, tt := range tests {
		status.Store(int64(tt.status))
		err := probeHTTP(t, CheckConfig{ExpectStatus: tt.ranges}, srv.URL)
		if (err == nil) != tt.ok {
			t.Errorf("ranges %v, status %d: err = %v, want ok=%v", tt.ranges, tt.status, err, tt.ok)
		}
	}
}

// TestHTTPCheckRedirectNotFollowed: a 302 is judged as the target's own
// answer; following it would check another server.
func TestHTTPCheckRedirectNotFollowed(t *testing.T) {
	var followed atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed.Store(true)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	if err := probeHTTP(t, CheckConfig{}, srv.URL); err != nil {
		t.Fatalf("302 within the default 200-399: %v", err)
	}
	if err := probeHTTP(t, CheckConfig{ExpectStatus: [][2]int{{200, 299}}}, srv.URL); err == nil {
		t.Fatal("302 accepted though only 2xx is expected")
	}
	if followed.Load() {
		t.Fatal("the check followed the redirect")
	}
}

func TestHTTPCheckBody(t *testing.T) {
	var body atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(body.Load().(string)))
	}))
	defer srv.Close()
	cfg := CheckConfig{ExpectBody: `"status":"ok"`}

	body.Store(`{"status":"ok","db":"up"}`)
	if err := probeHTTP(t, cfg, srv.URL); err != nil {
		t.Fatalf("matching body: %v", err)
	}
	body.Store(`{"status":"degraded"}`)
	if err := probeHTTP(t, cfg, srv.URL); err == nil || !strings.Contains(err.Error(), "does not contain") {
		t.Fatalf("body without the substring: err = %v", err)
	}
	// Only the first 64 KiB is read: a match beyond it does not count, and
	// a huge body is not buffered.
	body.Store(strings.Repeat("x", maxBody) + `"status":"ok"` + strings.Repeat("y", 1<<20))
	if err := probeHTTP(t, cfg, srv.URL); err == nil {
		t.Fatal("substring beyond the first 64 KiB matched")
	}
	body.Store(strings.Repeat("x", maxBody-len(cfg.ExpectBody)) + `"status":"ok"` + strings.Repeat("y", 1<<20))
	if err := probeHTTP(t, cfg, srv.URL); err != nil {
		t.Fatalf("substring ending exactly at 64 KiB: %v", err)
	}
}

// TestHTTPCheckTLS: an https target is checked over TLS with the given
// roots, and the Host override doubles as the server name, since the
// target is addressed by IP.
func TestHTTPCheckTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	if err := probeHTTP(t, CheckConfig{TLS: &tls.Config{RootCAs: roots}, Host: "example.com"}, srv.URL); err != nil {
		t.Fatalf("https check: %v", err)
	}
	if err := probeHTTP(t, CheckConfig{TLS: &tls.Config{RootCAs: roots}, Host: "not-in-cert.test"}, srv.URL); err == nil {
		t.Fatal("certificate accepted for a server name it does not carry")
	}
	if err := probeHTTP(t, CheckConfig{}, srv.URL); err == nil {
		t.Fatal("untrusted certificate accepted with system roots")
	}
}

// TestHTTPCheckL4Targets: an L4 upstream's tcp:// target is probed with
// plain HTTP, and a udp:// target is refused with a clear reason rather
// than dialled over TCP.
func TestHTTPCheckL4Targets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil || r.URL.Path != "/healthz" {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	if err := probeHTTP(t, CheckConfig{Path: "/healthz"}, "tcp://"+addr); err != nil {
		t.Fatalf("http check of a tcp:// target: %v", err)
	}
	err := probeHTTP(t, CheckConfig{}, "udp://"+addr)
	if err == nil || !strings.Contains(err.Error(), "udp check") {
		t.Fatalf("http check of a udp:// target: err = %v, want a refusal naming the udp check", err)
	}
}
