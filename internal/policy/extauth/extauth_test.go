package extauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// authService is a fake auth service recording what it was sent.
type authService struct {
	*httptest.Server
	mu      sync.Mutex
	method  string
	header  http.Header
	body    string
	respond func(w http.ResponseWriter, r *http.Request)
}

func newService(t testing.TB, respond func(w http.ResponseWriter, r *http.Request)) *authService {
	s := &authService{respond: respond}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.method, s.header, s.body = r.Method, r.Header.Clone(), string(b)
		s.mu.Unlock()
		s.respond(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *authService) seen() (string, http.Header, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.method, s.header, s.body
}

func newAuth(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func denial(t *testing.T, err error) *identity.Error {
	t.Helper()
	var e *identity.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *identity.Error", err)
	}
	return e
}

func TestAllowCopiesHeaders(t *testing.T) {
	s := newService(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-User-Id", "42")
		w.Header().Add("X-Roles", "a")
		w.Header().Add("X-Roles", "b")
		w.Header().Set("X-Auth-Subject", "alice")
		w.Header().Set("X-Internal", "not for upstream")
		w.Write([]byte("ok"))
	})
	consumers := identity.Consumers{"alice": {Name: "alice", Groups: []string{"staff"}}}
	a := newAuth(t, Config{URL: s.URL + "/check", UpstreamHeaders: []string{"x-user-id", "X-Roles", "X-Absent"}, Consumers: consumers})

	r := httptest.NewRequest("POST", "https://api.example/orders/../items?x=1", strings.NewReader("secret body"))
	r.Header.Set("Authorization", "Bearer t")
	r.Header.Set("Cookie", "s=1")
	r.Header.Set("X-Other", "not copied")
	r.Header.Set("X-User-Id", "forged")
	r.Header.Set("X-Absent", "forged too")
	info := &reqinfo.Info{ClientIP: netip.MustParseAddr("203.0.113.7"), Path: "/items", RequestID: "rid-1"}
	r = r.WithContext(reqinfo.NewContext(r.Context(), info))

	id, err := a.Authenticate(r)
	if err != nil {
		t.Fatal(err)
	}
	if id.Method != "ext_auth" || id.Subject != "alice" || id.Consumer != consumers["alice"] || len(id.Groups) != 1 {
		t.Errorf("identity %+v", id)
	}
	if id.Upstream.Get("X-User-Id") != "42" || strings.Join(id.Upstream["X-Roles"], ",") != "a,b" || len(id.Upstream) != 2 {
		t.Errorf("upstream headers %v", id.Upstream)
	}
	if r.Header.Get("X-User-Id") != "" || r.Header.Get("X-Absent") != "" {
		t.Error("client-sent copies of upstream headers kept")
	}

	method, h, body := s.seen()
	if method != "GET" || body != "" {
		t.Errorf("subrequest %s with body %q, want GET without body", method, body)
	}
	want := map[string]string{
		"Authorization": "Bearer t", "Cookie": "s=1", "X-Other": "",
		"X-Forwarded-Method": "POST", "X-Forwarded-Uri": "/items?x=1", "X-Forwarded-Host": "api.example",
		"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7", "X-Request-Id": "rid-1",
	}
	for k, v := range want {
		if got := h.Get(k); got != v {
			t.Errorf("subrequest %s = %q, want %q", k, got, v)
		}
	}
}

func TestForwardedDefaults(t *testing.T) {
	s := newService(t, func(w http.ResponseWriter, r *http.Request) {})
	a := newAuth(t, Config{URL: s.URL, ForwardMethod: true, RequestHeaders: []string{"X-Api-Key", "X-Hop"}})
	r := httptest.NewRequest("DELETE", "http://h/a%2Fb?q", strings.NewReader("body"))
	r.RemoteAddr = "198.51.100.2:5555"
	r.Header.Set("X-Api-Key", "k")
	r.Header.Set("X-Hop", "v")
	r.Header.Set("Connection", "X-Hop")
	r.Header.Set("Authorization", "Basic x") // not in the configured list
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	method, h, body := s.seen()
	if method != "DELETE" || body != "" {
		t.Errorf("subrequest %s body %q", method, body)
	}
	for k, v := range map[string]string{"X-Api-Key": "k", "X-Hop": "", "Authorization": "",
		"X-Forwarded-For": "198.51.100.2", "X-Forwarded-Uri": "/a%2Fb?q", "X-Forwarded-Proto": "http"} {
		if got := h.Get(k); got != v {
			t.Errorf("subrequest %s = %q, want %q", k, got, v)
		}
	}
}

// Without credentials the service still decides: never ErrNoCredentials.
func TestAlwaysAsks(t *testing.T) {
	s := newService(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	a := newAuth(t, Config{URL: s.URL})
	id, err := a.Authenticate(httptest.NewRequest("GET", "/", nil))
	if err != nil || id == nil || id.Subject != "" || id.Consumer != nil {
		t.Fatalf("id %+v err %v", id, err)
	}
}

func TestDenyRelayed(t *testing.T) {
	s := newService(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sso"`)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Internal", "secret")
		w.Header().Set("X-Extra", "mine")
		w.WriteHeader(401)
		w.Write([]byte(`{"error":"login required"}`))
	})
	a := newAuth(t, Config{URL: s.URL})
	_, err := a.Authenticate(httptest.NewRequest("GET", "/", nil))
	e := denial(t, err)
	if e.Status != 401 || e.Response == nil || e.Response.Status != 401 {
		t.Fatalf("denial %+v", e)
	}
	if e.Response.Header.Get("WWW-Authenticate") != `Bearer realm="sso"` || e.Response.Header.Get("Content-Type") != "application/json" ||
		e.Response.Header.Get("X-Internal") != "" || string(e.Response.Body) != `{"error":"login required"}` {
		t.Errorf("response %+v body %q", e.Response, e.Response.Body)
	}
	// ClientHeaders replaces the default list.
	b := newAuth(t, Config{URL: s.URL, ClientHeaders: []string{"X-Extra"}, MaxBodyBytes: 5})
	_, err = b.Authenticate(httptest.NewRequest("GET", "/", nil))
	e = denial(t, err)
	if e.Response.Header.Get("X-Extra") != "mine" || e.Response.Header.Get("WWW-Authenticate") != "" || string(e.Response.Body) != `{"err` {
		t.Errorf("response %+v body %q", e.Response, e.Response.Body)
	}
}

func TestDenyRedirectRelayed(t *testing.T) {
	s := newService(t, func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "state", Value: "abc"})
		http.Redirect(w, r, "https://sso.example/login?rd=x", http.StatusFound)
	})
	a := newAuth(t, Config{URL: s.URL})
	_, err := a.Authenticate(httptest.NewRequest("GET", "/", nil))
	e := denial(t, err)
	if e.Status != 302 || e.Response.Header.Get("Location") != "https://sso.example/login?rd=x" || e.Response.Header.Get("Set-Cookie") != "state=abc" {
		t.Errorf("denial %+v", e.Response)
	}
}

func TestFailClosed(t *testing.T) {
	release := make(chan struct{})
	s := newService(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	a := newAuth(t, Config{URL: s.URL, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := a.Authenticate(httptest.NewRequest("GET", "/", nil))
	e := denial(t, err)
	if e.Status != 503 || e.Response != nil {
		t.Errorf("denial %+v", e)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v with a 100ms timeout", d)
	}

	// A body that stalls after the status line also fails closed.
	slowBody := newService(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		w.Write([]byte("partial"))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	a = newAuth(t, Config{URL: slowBody.URL, Timeout: 100 * time.Millisecond})
	_, err = a.Authenticate(httptest.NewRequest("GET", "/", nil))
	if e := denial(t, err); e.Status != 503 {
		t.Errorf("stalled body: %+v", e)
	}

	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	a = newAuth(t, Config{URL: down.URL})
	_, err = a.Authenticate(httptest.NewRequest("GET", "/", nil))
	if e := denial(t, err); e.Status != 503 {
		t.Errorf("connection refused: %+v", e)
	}

	// The client's own cancellation also ends the subrequest.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a = newAuth(t, Config{URL: s.URL})
	_, err = a.Authenticate(httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if e := denial(t, err); e.Status != 503 {
		t.Errorf("canceled: %+v", e)
	}
}

func TestNewErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no url":          {},
		"relative url":    {URL: "/auth"},
		"negative":        {URL: "http://a", Timeout: -1},
		"negative body":   {URL: "http://a", MaxBodyBytes: -1},
		"hop-by-hop req":  {URL: "http://a", RequestHeaders: []string{"connection"}},
		"host":            {URL: "http://a", RequestHeaders: []string{"Host"}},
		"hop-by-hop up":   {URL: "http://a", UpstreamHeaders: []string{"Transfer-Encoding"}},
		"length client":   {URL: "http://a", ClientHeaders: []string{"Content-Length"}},
		"bad name":        {URL: "http://a", UpstreamHeaders: []string{"X User"}},
		"bad subject hdr": {URL: "http://a", SubjectHeader: "a:b"},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	client := &http.Client{}
	if _, err := New(Config{URL: "http://a", HTTPClient: client}); err != nil || client.CheckRedirect != nil {
		t.Errorf("caller's client modified (%v)", err)
	}
	if a, _ := New(Config{URL: "http://a"}); a.Challenge() != "" {
		t.Error("challenge not empty")
	}
}

func BenchmarkAuthenticateAllow(b *testing.B) {
	s := newService(b, func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-User-Id", "1") })
	a := newAuth(b, Config{URL: s.URL, UpstreamHeaders: []string{"X-User-Id"}})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer t")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
