package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// h2cEcho is an HTTP/2-only (prior knowledge) echo backend: an upstream
// with protocol: http2 reaches it through net/http's transport rather
// than h1client, so the query filter is checked on both engines.
func h2cEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", freeAddr(t))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(echoReply{Backend: "h2c", Method: r.Method, Path: r.URL.Path, RequestURI: r.RequestURI, Host: r.Host, Proto: r.Proto, Header: r.Header})
	})}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// TestTransformTemplates: request header values from variables (client
// IP, request id, path parameter, consumer name/plan/metadata, JWT
// claim), query set/add/remove reaching the backend on both upstream
// engines with untouched parameters kept as encoded, a response header
// from ${status}, and when: true and false on a request filter and on
// response_headers.
func TestTransformTemplates(t *testing.T) {
	t.Parallel()
	be := newBackend(t, "tplbe")
	h2 := h2cEcho(t)
	addr := freeAddr(t)
	const key = "tpl-key-0123456789abcdef"
	const secret = "tpl-test-hmac-secret-0123456789abcdef"
	authStart(t, oneUpstream(addr, be.url, `
  - name: h2
    protocol: http2
    targets: [{url: "http://%s"}]
consumers:
  - name: acme
    plan: gold
    metadata: {tier: "2"}
    api_keys: [{key_hash: %s}]
plans:
  - name: gold
    rate_limits: [{limit: 1000, window: 1s, key: consumer}]
routes:
  - name: users
    match: {path: {template: "/users/{id}"}}
    backend: {upstream: be}
    filters:
      - request_headers:
          set:
            X-Client: "${client_ip}"
            X-Rid: "rid=${request_id}"
            X-User-Id: "${param.id}"
            X-Literal: "$${client_ip} $$5"
      - request_headers:
          set: {X-Debug-Seen: "yes"}
        when: 'header["x-debug"] == "1"'
      - request_headers:
          set: {X-Never: "set"}
        when: 'method == "DELETE"'
      - response_headers:
          set: {X-Upstream-Status: "${status}"}
      - response_headers:
          set: {X-Failed: "failed ${status}"}
        when: status >= 500
  - name: consumer
    match: {path: {prefix: /consumer}}
    backend: {upstream: be}
    policies:
      api_key: {}
    filters:
      - request_headers:
          set: {X-Who: "${consumer.name}/${consumer.plan}/${consumer.metadata.tier}"}
  - name: token
    match: {path: {prefix: /token}}
    backend: {upstream: be}
    policies:
      jwt: {secret: %s}
    filters:
      - request_headers:
          set: {X-Sub: "${jwt.sub}", X-Org: "${jwt.org.id}"}
  - name: query
    match: {path: {prefix: /query}}
    backend: {upstream: be}
    filters:
      - query:
          remove: [api_key]
          set: {tenant: "${header.x-tenant}", page: "1"}
          add: {via: "gate house&co"}
  - name: query-h2
    match: {path: {prefix: /h2query}}
    backend: {upstream: h2}
    filters:
      - query:
          remove: [api_key]
          set: {ip: "${client_ip}"}
  - name: fail
    match: {path: {prefix: /fail}}
    respond: {status: 503, body: "down\n"}
    filters:
      - response_headers:
          set: {X-Failed: "failed ${status}"}
        when: status >= 500
`, h2, authSHA256(key), secret))
	c := httpClient(t)
	base := "http://" + addr

	// Path template, client IP, request id; when: false and true.
	resp, body := get(t, c, base+"/users/42", "", "X-Request-Id", "client-rid", "X-Debug", "1")
	rep := authEcho(t, "users", resp, body)
	authWantHeader(t, "users", rep, "X-Client", "127.0.0.1")
	authWantHeader(t, "users", rep, "X-User-Id", "42")
	authWantHeader(t, "users", rep, "X-Literal", "${client_ip} $5")
	authWantHeader(t, "users: when true", rep, "X-Debug-Seen", "yes")
	authWantHeader(t, "users: when false", rep, "X-Never", "")
	if rid := rep.Header.Get("X-Request-Id"); rid == "" || rep.Header.Get("X-Rid") != "rid="+rid {
		t.Errorf("X-Rid %q, want rid= and the request id the backend got (%q)", rep.Header.Get("X-Rid"), rid)
	}
	if got := resp.Header.Get("X-Upstream-Status"); got != "200" {
		t.Errorf("X-Upstream-Status %q, want 200", got)
	}
	if got := resp.Header.Get("X-Failed"); got != "" {
		t.Errorf("X-Failed on a 200: %q (when: status >= 500 is false)", got)
	}
	resp, body = get(t, c, base+"/users/7", "")
	rep = authEcho(t, "users without X-Debug", resp, body)
	authWantHeader(t, "users: when false (no header)", rep, "X-Debug-Seen", "")
	authWantHeader(t, "users 7", rep, "X-User-Id", "7")

	// Response when: true.
	resp, _ = get(t, c, base+"/fail", "")
	if resp.StatusCode != 503 || resp.Header.Get("X-Failed") != "failed 503" {
		t.Errorf("/fail: %d X-Failed %q, want 503 and \"failed 503\"", resp.StatusCode, resp.Header.Get("X-Failed"))
	}

	// Consumer variables (API key).
	resp, body = get(t, c, base+"/consumer", "", "X-Api-Key", key)
	authWantHeader(t, "consumer", authEcho(t, "consumer", resp, body), "X-Who", "acme/gold/2")

	// JWT claims (HMAC).
	tok := authSign(t, jwt.SigningMethodHS256, []byte(secret), "", jwt.MapClaims{
		"sub": "user-9", "org": map[string]any{"id": "o-1"}, "exp": time.Now().Add(5 * time.Minute).Unix(),
	})
	resp, body = get(t, c, base+"/token", "", "Authorization", "Bearer "+tok)
	rep = authEcho(t, "token", resp, body)
	authWantHeader(t, "token", rep, "X-Sub", "user-9")
	authWantHeader(t, "token", rep, "X-Org", "o-1")

	// Query edits on h1client: untouched parameters keep their bytes and
	// order; set replaces in place, add appends, remove removes.
	resp, body = get(t, c, base+"/query?b=%7e%41&api_key=s3cret&page=9&x=a+b&page=10", "", "X-Tenant", "t&1")
	rep = authEcho(t, "query", resp, body)
	if want := "/query?b=%7e%41&page=1&x=a+b&tenant=t%261&via=gate+house%26co"; rep.RequestURI != want {
		t.Errorf("query: backend got %q, want %q", rep.RequestURI, want)
	}
	// And on net/http's transport (HTTP/2 upstream).
	resp, body = get(t, c, base+"/h2query?api_key=s&z=%2f", "")
	if err := json.Unmarshal([]byte(body), &rep); err != nil || resp.StatusCode != 200 || rep.Proto != "HTTP/2.0" {
		t.Fatalf("h2 query: %d %s (%v)", resp.StatusCode, body, err)
	}
	if want := "/h2query?z=%2f&ip=127.0.0.1"; rep.RequestURI != want {
		t.Errorf("h2 query: backend got %q, want %q", rep.RequestURI, want)
	}
}

// TestValidateTransformErrors: `gatehouse validate` refuses an unknown
// template variable and a CEL type error in when:, each at its line.
func TestValidateTransformErrors(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tpl.yaml")
	lines := []string{
		"listeners: [{name: web, address: \"127.0.0.1:18080\"}]", // 1
		"upstreams: [{name: be, targets: [{url: \"http://127.0.0.1:9\"}]}]",
		"routes:",
		"  - name: r",
		"    backend: {upstream: be}",
		"    filters:",
		"      - request_headers:",
		"          set:",
		"            X-Ip: \"${clientip}\"", // 9
		"      - query: {remove: [a]}",
		"        when: 'status >= 500'", // 11
		"      - response_headers: {set: {X-A: b}}",
		"        when: 'status == \"500\"'", // 13
		"      - response_headers: {set: {X-B: b}}",
		"        when: 'size(path)'", // 15
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runValidate(t, path)
	out := stdout + stderr
	if code != 1 {
		t.Errorf("validate: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		fmt.Sprintf(`%s:9: route "r": value of "X-Ip": at offset 0: unknown variable "clientip"`, path),
		fmt.Sprintf(`%s:11: route "r": when: 1:1: status has no value here`, path),
		fmt.Sprintf(`%s:13: route "r": when: 1:8: found no matching overload for '_==_' applied to '(int, string)'`, path),
		fmt.Sprintf(`%s:15: route "r": when: condition must be a bool, not int`, path),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
}
