package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// TestRoutingPrecedence checks Gateway API precedence through the real
// router: exact host over longer wildcard over wildcard over no host; exact
// path over template over longest prefix (segment boundaries); a match with
// methods, headers and query over one without; unmatched → 404 problem+json;
// respond and redirect actions. The less specific routes come first in the
// file so configuration order alone would give the wrong answer.
func TestRoutingPrecedence(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
routes:
  # hosts
  - name: host-any
    match: {path: {exact: /h}}
    respond: {status: 200, body: host-any}
  - name: host-wild
    match: {hosts: ["*.example.test"], path: {exact: /h}}
    respond: {status: 200, body: host-wild}
  - name: host-wild-longer
    match: {hosts: ["*.eu.example.test"], path: {exact: /h}}
    respond: {status: 200, body: host-wild-longer}
  - name: host-exact
    match: {hosts: [api.example.test], path: {exact: /h}}
    respond: {status: 200, body: host-exact}
  # paths
  - name: path-prefix
    match: {path: {prefix: /p}}
    respond: {status: 200, body: path-prefix}
  - name: path-prefix-longer
    match: {path: {prefix: /p/deep}}
    respond: {status: 200, body: path-prefix-longer}
  - name: path-template
    match: {path: {template: "/p/users/{id}"}}
    respond: {status: 200, body: path-template}
  - name: path-exact
    match: {path: {exact: /p/users/me}}
    respond: {status: 200, body: path-exact}
  # methods
  - name: m-any
    match: {path: {exact: /m}}
    respond: {status: 200, body: m-any}
  - name: m-post
    match: {path: {exact: /m}, methods: [POST, PUT]}
    respond: {status: 200, body: m-post}
  - name: m-get-only
    match: {path: {exact: /mg}, methods: [GET]}
    respond: {status: 200, body: m-get-only}
  # headers
  - name: hdr-none
    match: {path: {exact: /hd}}
    respond: {status: 200, body: hdr-none}
  - name: hdr-one
    match: {path: {exact: /hd}, headers: [{name: X-Env, value: prod}]}
    respond: {status: 200, body: hdr-one}
  - name: hdr-two
    match: {path: {exact: /hd}, headers: [{name: X-Env, value: prod}, {name: X-Canary, present: true}]}
    respond: {status: 200, body: hdr-two}
  - name: hdr-regex
    match: {path: {exact: /hd}, headers: [{name: X-Env, regex: "stag.*"}]}
    respond: {status: 200, body: hdr-regex}
  # query
  - name: q-none
    match: {path: {exact: /q}}
    respond: {status: 200, body: q-none}
  - name: q-v2
    match: {path: {exact: /q}, query: [{name: v, value: "2"}]}
    respond: {status: 200, body: q-v2}
  # actions
  - name: teapot
    match: {path: {exact: /teapot}}
    respond: {status: 418, headers: {X-Custom: short-and-stout, Content-Type: text/x-teapot}, body: "I'm a teapot"}
  - name: moved
    match: {path: {prefix: /old}}
    redirect: {path: /new, status: 301}
  - name: secure
    match: {path: {prefix: /sec}}
    redirect: {scheme: https, host: secure.example.test, status: 308}
`, addr))
	_ = g
	c := httpClient(t)
	base := "http://" + addr

	type tc struct {
		method, path, host string
		hdr                []string
		want               string
	}
	cases := []tc{
		{"GET", "/h", "api.example.test", nil, "host-exact"},
		{"GET", "/h", "API.Example.Test:8080", nil, "host-exact"}, // case and port do not matter
		{"GET", "/h", "www.example.test", nil, "host-wild"},
		{"GET", "/h", "a.b.example.test", nil, "host-wild"}, // any depth
		{"GET", "/h", "x.eu.example.test", nil, "host-wild-longer"},
		{"GET", "/h", "example.test", nil, "host-any"}, // a wildcard does not match the apex
		{"GET", "/h", "other.test", nil, "host-any"},

		{"GET", "/p/users/me", "", nil, "path-exact"},
		{"GET", "/p/users/42", "", nil, "path-template"},
		{"GET", "/p/users/42/x", "", nil, "path-prefix"}, // a template variable is one segment
		{"GET", "/p/deep/x", "", nil, "path-prefix-longer"},
		{"GET", "/p/deep", "", nil, "path-prefix-longer"},
		{"GET", "/p", "", nil, "path-prefix"},
		{"GET", "/p/", "", nil, "path-prefix"},
		{"GET", "/p/deeper", "", nil, "path-prefix"}, // segment boundary: /p/deep is not a prefix of /p/deeper

		{"POST", "/m", "", nil, "m-post"},
		{"PUT", "/m", "", nil, "m-post"},
		{"GET", "/m", "", nil, "m-any"},
		{"GET", "/mg", "", nil, "m-get-only"},

		{"GET", "/hd", "", nil, "hdr-none"},
		{"GET", "/hd", "", []string{"X-Env", "prod"}, "hdr-one"},
		{"GET", "/hd", "", []string{"X-Env", "prod", "X-Canary", "1"}, "hdr-two"},
		{"GET", "/hd", "", []string{"X-Env", "staging"}, "hdr-regex"},
		{"GET", "/hd", "", []string{"X-Env", "dev"}, "hdr-none"},

		{"GET", "/q", "", nil, "q-none"},
		{"GET", "/q?v=2", "", nil, "q-v2"},
		{"GET", "/q?a=1&v=2", "", nil, "q-v2"},
		{"GET", "/q?v=3", "", nil, "q-none"},
	}
	for _, k := range cases {
		resp, body := do(t, c, k.method, base+k.path, k.host, k.hdr...)
		if resp.StatusCode != 200 || body != k.want {
			t.Errorf("%s %s Host=%q %v: got %d %q, want 200 %q", k.method, k.path, k.host, k.hdr, resp.StatusCode, body, k.want)
		}
	}

	// Unmatched requests: 404 problem+json.
	for _, k := range []tc{
		{"GET", "/nothing", "", nil, ""},
		{"GET", "/px", "", nil, ""}, // prefix /p does not match /px
		{"DELETE", "/mg", "", nil, ""},
	} {
		resp, body := do(t, c, k.method, base+k.path, k.host)
		if resp.StatusCode != 404 {
			t.Errorf("%s %s: got %d %q, want 404", k.method, k.path, resp.StatusCode, body)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: 404 Content-Type %q, want application/problem+json", k.method, k.path, ct)
		}
		var p struct {
			Status int    `json:"status"`
			Title  string `json:"title"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil || p.Status != 404 {
			t.Errorf("%s %s: 404 body %q: want JSON with status 404 (err %v)", k.method, k.path, body, err)
		}
	}

	// respond
	resp, body := get(t, c, base+"/teapot", "")
	if resp.StatusCode != 418 || body != "I'm a teapot" || resp.Header.Get("X-Custom") != "short-and-stout" ||
		resp.Header.Get("Content-Type") != "text/x-teapot" {
		t.Errorf("GET /teapot: got %d %q X-Custom=%q Content-Type=%q; want 418 \"I'm a teapot\" short-and-stout text/x-teapot",
			resp.StatusCode, body, resp.Header.Get("X-Custom"), resp.Header.Get("Content-Type"))
	}
	// HEAD on a respond route: headers, no body.
	resp, body = do(t, c, "HEAD", base+"/teapot", "")
	if resp.StatusCode != 418 || body != "" {
		t.Errorf("HEAD /teapot: got %d with body %q, want 418 and no body", resp.StatusCode, body)
	}

	// redirect: same scheme keeps host and port, query kept.
	resp, _ = get(t, c, base+"/old/page?a=1", "")
	if want := "http://" + addr + "/new?a=1"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
		t.Errorf("GET /old/page?a=1: got %d Location %q, want 301 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// redirect: scheme and host replaced, request path kept, port becomes the scheme's default.
	resp, _ = get(t, c, base+"/sec/x?q=1", "www.example.test:"+strings.Split(addr, ":")[1])
	if want := "https://secure.example.test/sec/x?q=1"; resp.StatusCode != 308 || resp.Header.Get("Location") != want {
		t.Errorf("GET /sec/x?q=1: got %d Location %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

// TestPathNormalisationSecurity sends paths that mean /admin in disguise
// (sent raw: Go's client would clean them) and checks they all hit the
// /admin route, never the /public backend; encoded separators are refused
// with 400; the backend receives the normalised path.
func TestPathNormalisationSecurity(t *testing.T) {
	t.Parallel()
	pub := newBackend(t, "public")
	addr := freeAddr(t)
	startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: pub
    targets: [{url: %s}]
routes:
  - name: public
    match: {path: {prefix: /public}}
    backend: {upstream: pub}
  - name: admin
    match: {path: {prefix: /admin}}
    respond: {status: 403, body: admin-marker}
`, addr, pub.url))

	raw := func(path string) string {
		return "GET " + path + " HTTP/1.1\r\nHost: norm.test\r\nConnection: close\r\n\r\n"
	}
	for _, p := range []string{
		"/admin",
		"//admin",
		"/public/../admin",
		"/public/%2e%2e/admin",
		"/public/%2E%2E/admin",
		"/public/./../admin",
		"/%61dmin",
		"/%61%64%6d%69%6e",
		"/./admin",
		"/admin/.",
		"///admin//x",
	} {
		resp, body := rawExchange(t, addr, raw(p))
		if resp.StatusCode != 403 || body != "admin-marker" {
			t.Errorf("GET %s: got %d %q, want the /admin route (403 admin-marker)", p, resp.StatusCode, body)
		}
	}
	for _, p := range []string{
		"/admin%2f..",
		"/admin%2F..",
		"/a%5Cb",
		"/public/..%2fadmin",
		"/public/%2e%2e%2fadmin",
		"/public/x%00",
	} {
		resp, body := rawExchange(t, addr, raw(p))
		if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET %s: got %d (Content-Type %q) %q, want 400 application/problem+json", p, resp.StatusCode, resp.Header.Get("Content-Type"), body)
			continue
		}
		var pd struct{ Status int }
		if err := json.Unmarshal([]byte(body), &pd); err != nil || pd.Status != 400 {
			t.Errorf("GET %s: problem body %q: want status 400", p, body)
		}
	}
	for _, k := range []struct{ sent, want string }{
		{"/public/./x//y/%7euser", "/public/x/y/~user"},
		{"/public/a/../b", "/public/b"},
		{"//public///c/", "/public/c/"},
		{"/%70ublic/d?q=%2F", "/public/d?q=%2F"}, // the query is not the path: kept as sent
	} {
		resp, body := rawExchange(t, addr, raw(k.sent))
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: got %d %q, want 200 from the public backend", k.sent, resp.StatusCode, body)
			continue
		}
		var rep echoReply
		if err := json.Unmarshal([]byte(body), &rep); err != nil {
			t.Errorf("GET %s: backend reply %q: %v", k.sent, body, err)
			continue
		}
		if rep.RequestURI != k.want {
			t.Errorf("GET %s: backend saw %q, want the normalised %q", k.sent, rep.RequestURI, k.want)
		}
	}
	for _, r := range pub.requests() {
		if strings.Contains(strings.ToLower(r.RequestURI), "admin") || strings.Contains(r.Path, "admin") {
			t.Errorf("the public backend received %q (path %q): an /admin request escaped to it", r.RequestURI, r.Path)
		}
	}
}
