package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Edge rules: IP lists, path tricks against protected routes, WAF, CORS
// and request limits, through the real binary.

func isProblem(resp *http.Response) bool {
	return strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json")
}

// TestEdgeIPFilterIgnoresSpoofedXFF: an untrusted peer cannot get past an
// allow-list by claiming another address in X-Forwarded-For; a trusted
// proxy's claim is believed.
func TestEdgeIPFilterIgnoresSpoofedXFF(t *testing.T) {
	b := newBackend(t, "b")
	direct, viaProxy := freeAddr(t), freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - {name: direct, address: "%s"}
  - {name: proxied, address: "%s", trusted_proxies: [127.0.0.1/32]}
upstreams:
  - {name: b, targets: [{url: "%s"}]}
routes:
  - name: office
    match: {path: {prefix: /office}}
    backend: {upstream: b}
    policies:
      ip_filter: {allow: [10.0.0.0/8]}
  - name: local
    match: {path: {prefix: /local}}
    backend: {upstream: b}
    policies:
      ip_filter: {allow: [127.0.0.0/8], deny: [127.0.0.2/32]}
`, direct, viaProxy, b.url))
	c := httpClient(t)
	for _, spoof := range []string{"X-Forwarded-For", "X-Real-Ip", "Forwarded"} {
		val := "10.1.2.3"
		if spoof == "Forwarded" {
			val = "for=10.1.2.3"
		}
		resp, _ := get(t, c, "http://"+direct+"/office", "", spoof, val)
		if resp.StatusCode != http.StatusForbidden || !isProblem(resp) {
			t.Errorf("untrusted peer with %s: %s: status %d, want 403 problem", spoof, val, resp.StatusCode)
		}
	}
	if resp, _ := get(t, c, "http://"+viaProxy+"/office", "", "X-Forwarded-For", "10.1.2.3"); resp.StatusCode != 200 {
		t.Errorf("trusted proxy forwarding 10.1.2.3: status %d, want 200", resp.StatusCode)
	}
	if resp, _ := get(t, c, "http://"+direct+"/local", ""); resp.StatusCode != 200 {
		t.Errorf("allowed 127.0.0.1: status %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, "http://"+viaProxy+"/local", "", "X-Forwarded-For", "127.0.0.2"); resp.StatusCode != 403 {
		t.Errorf("denied 127.0.0.2 via trusted proxy: status %d, want 403", resp.StatusCode)
	}
	for _, r := range b.requests() {
		if r.Path == "/office" && r.Header.Get("X-Forwarded-For") != "10.1.2.3, 127.0.0.1" {
			t.Errorf("only the trusted request should reach /office: %v", r.Header)
		}
	}
}

// TestEdgePathTricksCannotReachProtectedRoute: encodings and dot-segments
// that name /admin are matched as /admin (so authentication applies) or
// refused; none reaches the backend unauthenticated.
func TestEdgePathTricksCannotReachProtectedRoute(t *testing.T) {
	b := newBackend(t, "b")
	addr := freeAddr(t)
	startGateway(t, oneUpstream(addr, b.url, `
consumers:
  - name: ops
    metadata: {team: platform}
    api_keys: [{key_hash: "%s"}]
routes:
  - name: admin
    match: {path: {prefix: /admin}}
    backend: {upstream: be}
    policies:
      api_key: {}
      consumer_headers: {X-Team: metadata.team, X-Consumer-Name: name}
  - name: public
    match: {path: {prefix: /}}
    backend: {upstream: be}
`, authSHA256("ops-key-0123456789abcdef")))
	tricks := []string{"/admin", "//admin", "/%61dmin", "/%61%64%6d%69%6e/x", "/public/../admin", "/public/%2e%2e/admin",
		"/./admin", "/admin%2f..", "/admin%2F../x", "/public/..%2fadmin", "/ADMIN/../admin", "/admin/./"}
	for _, p := range tricks {
		resp, body := rawExchange(t, addr, "GET "+p+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if resp.StatusCode != 401 && resp.StatusCode != 400 && resp.StatusCode != 404 {
			t.Errorf("GET %s: status %d (want 401 or 400): %s", p, resp.StatusCode, body)
		}
	}
	for _, r := range b.requests() {
		if strings.HasPrefix(strings.ToLower(r.Path), "/admin") {
			t.Errorf("an unauthenticated request reached the backend as %s (wire %s)", r.Path, r.RequestURI)
		}
	}
	// With the key, the normalised path is what the backend sees.
	resp, body := rawExchange(t, addr, "GET //admin/../admin/%61 HTTP/1.1\r\nHost: x\r\nX-Api-Key: ops-key-0123456789abcdef\r\nX-Team: forged\r\nConnection: close\r\n\r\n")
	var rep echoReply
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &rep) != nil || rep.Path != "/admin/a" {
		t.Errorf("authenticated: status %d, backend path %q", resp.StatusCode, rep.Path)
	}
	// consumer_headers: the configured names, from the consumer, never the client's.
	if got := rep.Header.Values("X-Team"); len(got) != 1 || got[0] != "platform" || rep.Header.Get("X-Consumer-Name") != "ops" || rep.Header.Get("X-Auth-Method") != "" {
		t.Errorf("identity headers upstream: %v", rep.Header)
	}
}

// TestEdgeWAF: the Core Rule Set blocks SQL injection and XSS with 403
// problem+json and an audit line; clean requests pass unchanged.
func TestEdgeWAF(t *testing.T) {
	b := newBackend(t, "b")
	addr := freeAddr(t)
	g := startGateway(t, oneUpstream(addr, b.url, `
routes:
  - name: guarded
    match: {path: {prefix: /guarded}}
    backend: {upstream: be}
    policies:
      waf: {}
  - name: watched
    match: {path: {prefix: /watched}}
    backend: {upstream: be}
    policies:
      waf: {mode: detect}
`))
	c := httpClient(t)
	attacks := map[string]string{
		"sqli":  "/guarded/items?id=" + url.QueryEscape("1' OR '1'='1"),
		"union": "/guarded/items?id=" + url.QueryEscape("1 UNION SELECT password FROM users"),
		"xss":   "/guarded/search?q=" + url.QueryEscape("<script>alert(1)</script>"),
	}
	for name, p := range attacks {
		resp, _ := get(t, c, "http://"+addr+p, "api.example.com")
		if resp.StatusCode != 403 || !isProblem(resp) {
			t.Errorf("%s: status %d, want 403 problem+json", name, resp.StatusCode)
		}
	}
	form := "comment=" + url.QueryEscape(`<img src=x onerror=alert(1)>`)
	req, _ := http.NewRequest("POST", "http://"+addr+"/guarded/comments", strings.NewReader(form))
	req.Host = "api.example.com"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("xss in a form body: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if n := len(b.requests()); n != 0 {
		t.Errorf("%d blocked requests reached the backend", n)
	}
	if !g.waitLog(`"waf blocked"`, 5*time.Second) || !g.waitLog("942100", 5*time.Second) {
		t.Errorf("no audit line naming the SQL injection rule (the gateway log is printed at cleanup)")
	}

	clean := `{"name":"Ada","tags":["a","b"]}`
	req, _ = http.NewRequest("POST", "http://"+addr+"/guarded/users", strings.NewReader(clean))
	req.Host = "api.example.com"
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("clean JSON POST: %v %v", resp, err)
	}
	resp.Body.Close()
	if rs := b.requests(); len(rs) != 1 || rs[0].BodyBytes != int64(len(clean)) {
		t.Errorf("clean request not forwarded whole: %+v", rs)
	}
	if resp, _ := get(t, c, "http://"+addr+"/guarded/items?id=42", "api.example.com"); resp.StatusCode != 200 {
		t.Errorf("clean GET: %d", resp.StatusCode)
	}
	if resp, _ := get(t, c, "http://"+addr+attacks["sqli"][len("/guarded"):]+"", "api.example.com"); resp.StatusCode == 403 {
		t.Errorf("a route without waf blocked a request")
	}
	if resp, _ := get(t, c, "http://"+addr+"/watched?id="+url.QueryEscape("1' OR '1'='1"), "api.example.com"); resp.StatusCode != 200 {
		t.Errorf("detect mode blocked: %d", resp.StatusCode)
	}
	if !g.waitLog(`"waf detected"`, 5*time.Second) {
		t.Errorf("detect mode logged nothing")
	}
}

// TestEdgeCORS: preflights are answered by the gateway per config and
// never reach the upstream; actual responses carry the CORS headers.
func TestEdgeCORS(t *testing.T) {
	b := newBackend(t, "b")
	addr := freeAddr(t)
	startGateway(t, oneUpstream(addr, b.url, `
consumers:
  - name: web
    api_keys: [{key_hash: "%s"}]
routes:
  - name: api
    backend: {upstream: be}
    policies:
      api_key: {}
      cors:
        allow_origins: ["https://app.example.com"]
        allow_origin_regex: ['https://[a-z]+\.preview\.example\.com']
        allow_methods: [GET, PUT]
        allow_headers: [X-Api-Key, Content-Type]
        expose_headers: [X-Request-Id]
        allow_credentials: true
        max_age: 10m
`, authSHA256("web-key-0123456789abcdef")))
	c := httpClient(t)
	pre := func(origin, method string) *http.Response {
		resp, _ := do(t, c, "OPTIONS", "http://"+addr+"/things", "", "Origin", origin,
			"Access-Control-Request-Method", method, "Access-Control-Request-Headers", "x-api-key")
		return resp
	}
	resp := pre("https://app.example.com", "PUT")
	h := resp.Header
	if resp.StatusCode/100 != 2 || h.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(h.Get("Access-Control-Allow-Methods"), "PUT") || h.Get("Access-Control-Allow-Credentials") != "true" ||
		h.Get("Access-Control-Max-Age") != "600" || !strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "x-api-key") {
		t.Errorf("allowed preflight: %d %v", resp.StatusCode, h)
	}
	if resp := pre("https://pr-7.preview.example.com", "GET"); resp.StatusCode != 403 {
		t.Errorf("pr-7 does not match [a-z]+: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := pre("https://abc.preview.example.com", "GET"); resp.Header.Get("Access-Control-Allow-Origin") != "https://abc.preview.example.com" {
		t.Errorf("regex origin preflight: %d %v", resp.StatusCode, resp.Header)
	}
	for _, bad := range [][2]string{{"https://evil.example.com", "GET"}, {"https://app.example.com", "DELETE"}, {"https://x.preview.example.com.evil.com", "GET"}} {
		resp := pre(bad[0], bad[1])
		if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %v: %d %v", bad, resp.StatusCode, resp.Header)
		}
	}
	if n := len(b.requests()); n != 0 {
		t.Errorf("%d preflights reached the upstream", n)
	}
	resp, _ = get(t, c, "http://"+addr+"/things", "", "Origin", "https://app.example.com", "X-Api-Key", "web-key-0123456789abcdef")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Expose-Headers") == "" || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
		t.Errorf("actual request: %d %v", resp.StatusCode, resp.Header)
	}
	resp, _ = get(t, c, "http://"+addr+"/things", "", "Origin", "https://evil.example.com", "X-Api-Key", "web-key-0123456789abcdef")
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("disallowed origin got CORS headers: %v", resp.Header)
	}
}

// TestEdgeRequestLimits: bodies and headers over the route's limits are
// refused with 413 and 431.
func TestEdgeRequestLimits(t *testing.T) {
	b := newBackend(t, "b")
	addr := freeAddr(t)
	startGateway(t, oneUpstream(addr, b.url, `
routes:
  - name: api
    backend: {upstream: be}
    policies:
      request_limits: {max_body_bytes: 1KiB, max_header_count: 20, max_header_bytes: 4KiB}
`))
	big := strings.Repeat("x", 2048)
	resp, _ := rawExchange(t, addr, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n"+big)
	if resp.StatusCode != 413 || !isProblem(resp) {
		t.Errorf("declared 2 KiB body: %d", resp.StatusCode)
	}
	chunked := fmt.Sprintf("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n", len(big), big)
	if resp, _ := rawExchange(t, addr, chunked); resp.StatusCode != 413 {
		t.Errorf("chunked 2 KiB body: %d", resp.StatusCode)
	}
	var hdrs strings.Builder
	for i := range 30 {
		fmt.Fprintf(&hdrs, "X-H%d: v\r\n", i)
	}
	if resp, _ := rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n"+hdrs.String()+"Connection: close\r\n\r\n"); resp.StatusCode != 431 {
		t.Errorf("30 headers: %d", resp.StatusCode)
	}
	if resp, _ := rawExchange(t, addr, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789"); resp.StatusCode != 200 {
		t.Errorf("small body: %d", resp.StatusCode)
	}
}
