package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// fakeAuth accepts header X-Cred: good, refuses any other value, and
// reports no credentials without the header.
type fakeAuth struct{ challenge string }

func (f fakeAuth) Authenticate(r *http.Request) (*identity.Identity, error) {
	switch r.Header.Get("X-Cred") {
	case "":
		return nil, identity.ErrNoCredentials
	case "good":
		return &identity.Identity{Method: "fake", Subject: "alice", Groups: []string{"a", "b"},
			Upstream: http.Header{"X-Claim": {"v"}}}, nil
	default:
		return nil, identity.Unauthorized("bad credential", "", errors.New("mismatch"))
	}
}
func (f fakeAuth) Challenge() string { return f.challenge }

type denyAll struct{}

func (denyAll) Check(*identity.Identity) error { return identity.Forbidden("not allowed") }

func runChain(t *testing.T, a *Chain, hdr ...string) (*httptest.ResponseRecorder, http.Header, *reqinfo.Info) {
	t.Helper()
	var seen http.Header
	h := a.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.Header.Clone() }))
	req := httptest.NewRequest("GET", "/", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	info := &reqinfo.Info{}
	req = req.WithContext(reqinfo.NewContext(req.Context(), info))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec, seen, info
}

func TestChainNoCredentialsChallengesEveryMethod(t *testing.T) {
	a := New(Config{Methods: []identity.Authenticator{fakeAuth{`ApiKey realm="x"`}, fakeAuth{`Bearer realm="x"`}}})
	rec, seen, _ := runChain(t, a)
	if rec.Code != 401 || seen != nil || len(rec.Header().Values("WWW-Authenticate")) != 2 ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
}

func TestChainRefusalStops(t *testing.T) {
	a := New(Config{Methods: []identity.Authenticator{fakeAuth{"A"}, fakeAuth{"B"}}})
	rec, seen, info := runChain(t, a, "X-Cred", "forged")
	if rec.Code != 401 || seen != nil || info.UpstreamError == "" {
		t.Fatalf("%d %v %q", rec.Code, seen, info.UpstreamError)
	}
}

func TestChainSetsIdentityHeadersAndStripsForgeries(t *testing.T) {
	a := New(Config{Methods: []identity.Authenticator{fakeAuth{}}, Strip: []string{"x-claim"}})
	rec, seen, info := runChain(t, a, "X-Cred", "good", HeaderConsumer, "root", "X-Claim", "forged",
		"Connection", "X-Consumer-Name, X-Other, upgrade", "X-Other", "1", "Upgrade", "websocket")
	if rec.Code != 200 || info.Identity == nil || info.Identity.Name() != "alice" {
		t.Fatalf("%d %+v", rec.Code, info.Identity)
	}
	if seen.Get(HeaderConsumer) != "alice" || seen.Get(HeaderGroups) != "a,b" || seen.Get("X-Claim") != "v" || len(seen.Values("X-Claim")) != 1 {
		t.Errorf("identity headers: %v", seen)
	}
	if seen.Get("X-Other") != "" || seen.Get("Connection") != "upgrade" {
		t.Errorf("Connection-listed headers must go before identity headers are set: %v", seen)
	}
}

func TestChainOptionalAndAuthorization(t *testing.T) {
	a := New(Config{Methods: []identity.Authenticator{fakeAuth{}}, Optional: true})
	rec, seen, info := runChain(t, a, HeaderConsumer, "root")
	if rec.Code != 200 || info.Identity != nil || seen.Get(HeaderConsumer) != "" {
		t.Fatalf("anonymous: %d %v", rec.Code, seen)
	}
	if rec, _, _ := runChain(t, a, "X-Cred", "bad"); rec.Code != 401 {
		t.Fatalf("optional auth must still refuse a bad credential: %d", rec.Code)
	}
	a = New(Config{Methods: []identity.Authenticator{fakeAuth{}}, Authorize: denyAll{}})
	if rec, seen, _ := runChain(t, a, "X-Cred", "good"); rec.Code != 403 || seen != nil {
		t.Fatalf("authorization: %d", rec.Code)
	}
}

func TestWriteRefusalRelaysResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	e := &identity.Error{Status: 302, Response: &identity.Response{Status: 302, Header: http.Header{"Location": {"/login"}}, Body: []byte("go")}}
	writeRefusal(rec, httptest.NewRequest("GET", "/", nil), e, nil)
	if rec.Code != 302 || rec.Header().Get("Location") != "/login" || rec.Body.String() != "go" {
		t.Fatalf("%d %v %q", rec.Code, rec.Header(), rec.Body)
	}
}

func TestChainConfiguredHeaders(t *testing.T) {
	a := New(Config{Methods: []identity.Authenticator{consumerAuth{}},
		Headers: []IdentityHeader{{"x-team", "metadata.team"}, {"X-Plan", "plan"}, {"X-Sub", "subject"}, {"X-Scopes", "scopes"}}})
	_, seen, _ := runChain(t, a, "X-Team", "forged", "X-Plan", "forged", HeaderConsumer, "forged")
	if seen.Get("X-Team") != "billing" || seen.Get("X-Plan") != "gold" || seen.Get("X-Sub") != "key-1" ||
		seen.Get("X-Scopes") != "a b" || seen.Get(HeaderConsumer) != "" {
		t.Fatalf("configured headers: %v", seen)
	}
}

type consumerAuth struct{}

func (consumerAuth) Authenticate(*http.Request) (*identity.Identity, error) {
	return &identity.Identity{Method: "api_key", Subject: "key-1", Scopes: []string{"a", "b"},
		Consumer: &identity.Consumer{Name: "acme", Plan: "gold", Metadata: map[string]string{"team": "billing"}}}, nil
}
func (consumerAuth) Challenge() string { return "" }
