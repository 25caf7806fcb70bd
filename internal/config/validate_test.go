package config

import (
	"strings"
	"testing"
)

// base has one listener and one upstream; route cases append to it. Lines
// 1-6 are taken, so a route's "- name:" is on line 8.
const base = `listeners:
  - {name: public, address: "127.0.0.1:8080"}
upstreams:
  - name: users
    targets: [{url: "http://127.0.0.1:9000"}]
# routes start below
`

func TestValidateListeners(t *testing.T) {
	cert, key := testCert(t)
	cases := []struct{ name, src, want string }{
		{"none", "log: {level: info}\n", `gatehouse.yaml: no listeners defined (add a listeners: section, e.g. [{name: public, address: ":8080"}])`},
		{"no name", "listeners:\n  - address: :1\n", `gatehouse.yaml:2: listener has no name (add name: with letters, digits, '.', '_' or '-')`},
		{"bad name", "listeners:\n  - name: -x\n    address: :1\n", `gatehouse.yaml:2: invalid listener name "-x" (use letters, digits, '.', '_' or '-', starting with a letter or digit)`},
		{"dup name", "listeners:\n  - {name: a, address: \":1\"}\n  - {name: a, address: \":2\"}\n",
			`gatehouse.yaml:3: listener "a" is defined twice (first defined at gatehouse.yaml:2; names must be unique)`},
		{"no address", "listeners:\n  - name: a\n", `gatehouse.yaml:2: listener "a": address is required (add address: host:port, e.g. ":8080")`},
		{"bad port", "listeners:\n  - {name: a, address: \":http\"}\n", `gatehouse.yaml:2: listener "a": invalid port "http" in address ":http" (use host:port such as 127.0.0.1:8080 or :8080)`},
		{"dup address", "listeners:\n  - {name: a, address: \"localhost:80\"}\n  - {name: b, address: \"LOCALHOST:080\"}\n",
			`gatehouse.yaml:3: listener "b": address LOCALHOST:080 is already used by another listener (first used at gatehouse.yaml:2; each listener needs its own address)`},
		{"unknown protocol", "listeners:\n  - {name: a, address: \":1\", protocol: htps}\n", `gatehouse.yaml:2: listener "a": unknown protocol "htps" (did you mean "https"?)`},
		{"https without tls", "listeners:\n  - name: a\n    address: :1\n    protocol: https\n", `gatehouse.yaml:4: listener "a": https listener needs tls (add tls: {certificates: [{cert_file: ..., key_file: ...}]})`},
		{"tls on http", "listeners:\n  - name: a\n    address: :1\n    tls: {certificates: []}\n", `gatehouse.yaml:4: listener "a": tls is set on an http listener (set protocol: https or tls, or remove tls)`},
		{"h2c on https", "listeners:\n  - name: a\n    address: :1\n    protocol: https\n    h2c: true\n    tls: {certificates: [{cert_file: " + cert + ", key_file: " + key + "}]}\n",
			`gatehouse.yaml:5: listener "a": h2c is only for plain http listeners (https listeners offer HTTP/2 through ALPN (http2: true); remove h2c)`},
		{"http2 on http", "listeners:\n  - name: a\n    address: :1\n    http2: true\n", `gatehouse.yaml:4: listener "a": http2 applies to https listeners only (use h2c: true for cleartext HTTP/2)`},
		{"no certificates", "listeners:\n  - name: a\n    address: :1\n    protocol: https\n    tls: {certificates: []}\n", `gatehouse.yaml:5: listener "a": tls needs at least one certificate (add certificates: [{cert_file: cert.pem, key_file: key.pem}])`},
		{"min version", "listeners:\n  - name: a\n    address: :1\n    protocol: https\n    tls:\n      min_version: 1.1\n      certificates: [{cert_file: " + cert + ", key_file: " + key + "}]\n",
			`gatehouse.yaml:6: listener "a": unknown min_version "1.1" (did you mean "1.2"?)`},
		{"half pair", "listeners:\n  - name: a\n    address: :1\n    protocol: https\n    tls:\n      certificates:\n        - cert_file: " + cert + "\n",
			`gatehouse.yaml:7: listener "a": certificate needs cert_file and key_file (give both cert_file and key_file)`},
		{"missing cert", "listeners:\n  - name: a\n    address: :1\n    protocol: https\n    tls:\n      certificates:\n        - key_file: " + key + "\n          cert_file: /nonexistent/c.pem\n",
			`gatehouse.yaml:8: listener "a": cannot read cert_file: open /nonexistent/c.pem: no such file or directory (check the path; relative paths are relative to the YAML file)`},
		{"mismatched pair", "listeners:\n  - name: a\n    address: :1\n    protocol: https\n    tls:\n      certificates:\n        - {cert_file: " + cert + ", key_file: " + cert + "}\n",
			`gatehouse.yaml:7: listener "a": certificate ` + cert + ` and key ` + cert + ` do not load: tls: found a certificate rather than a key in the PEM for the private key (cert_file must hold a PEM certificate chain and key_file its PEM private key)`},
		{"header bytes", "listeners:\n  - name: a\n    address: :1\n    max_header_bytes: 100\n", `gatehouse.yaml:4: listener "a": max_header_bytes 100 is out of range (use a size between 1KiB and 64MiB, e.g. 64KiB)`},
		{"admin address", "listeners:\n  - {name: a, address: \"127.0.0.1:1\"}\nadmin: {address: \"127.0.0.1:1\"}\n",
			`gatehouse.yaml:3: admin: address 127.0.0.1:1 is already used by listener "a" (give the admin API its own port, e.g. 127.0.0.1:9901)`},
		{"admin no address", minimal + "admin: {}\n", `gatehouse.yaml:4: admin: address is required (add address: 127.0.0.1:9901)`},
		{"log level", minimal + "log: {level: warning}\n", `gatehouse.yaml:4: log: unknown level "warning" (did you mean "warn"?)`},
		{"gc percent", minimal + "runtime: {gc_percent: -2}\n", `gatehouse.yaml:4: runtime: gc_percent -2 is out of range (use -1 to turn the GC off, or a percentage such as 400)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.src, c.want) })
	}
}

func TestPortZeroMayRepeat(t *testing.T) {
	// Port 0 asks the kernel for a free port, so two such listeners do not
	// collide (tests rely on this).
	mustParse(t, "listeners:\n  - {name: a, address: \"127.0.0.1:0\"}\n  - {name: b, address: \"127.0.0.1:0\"}\nadmin: {address: \"127.0.0.1:0\"}\n")
}

func TestValidateUpstreams(t *testing.T) {
	cert, key := testCert(t)
	up := func(body string) string { return minimal + "upstreams:\n  - name: u\n" + body }
	cases := []struct{ name, src, want string }{
		{"no targets", up(""), `gatehouse.yaml:5: upstream "u": upstream has no targets (add targets: [{url: "http://10.0.0.1:8080"}])`},
		{"dup name", minimal + "upstreams:\n  - {name: u, targets: [{url: \"http://a:1\"}]}\n  - {name: u, targets: [{url: \"http://a:1\"}]}\n",
			`gatehouse.yaml:6: upstream "u" is defined twice (first defined at gatehouse.yaml:5; names must be unique)`},
		{"balance", up("    balance: least_requests\n    targets: [{url: \"http://a:1\"}]\n"), `gatehouse.yaml:6: upstream "u": unknown balance "least_requests" (did you mean "least_request"?)`},
		{"protocol", up("    protocol: h2\n    targets: [{url: \"http://a:1\"}]\n"), `gatehouse.yaml:6: upstream "u": unknown protocol "h2" (use one of auto, http1, http2)`},
		{"no scheme", up("    targets: [{url: \"10.0.0.1:80\"}]\n"), `gatehouse.yaml:6: upstream "u": target URL "10.0.0.1:80" has no scheme (write http://10.0.0.1:80)`},
		{"bad scheme", up("    targets: [{url: \"ftp://a\"}]\n"), `gatehouse.yaml:6: upstream "u": target URL "ftp://a" must use http://, https://, tcp:// or udp:// (use http://host:port, https://host, tcp://host:port or udp://host:port)`},
		{"path", up("    targets: [{url: \"http://a/api\"}]\n"), `gatehouse.yaml:6: upstream "u": target URL "http://a/api" must not have a path, query or fragment (targets are host:port only; rewrite paths with a url_rewrite filter on the route)`},
		{"query", up("    targets: [{url: \"http://a?x=1\"}]\n"), `gatehouse.yaml:6: upstream "u": target URL "http://a?x=1" must not have a path, query or fragment (targets are host:port only; rewrite paths with a url_rewrite filter on the route)`},
		{"userinfo", up("    targets: [{url: \"http://me:pw@a\"}]\n"), `gatehouse.yaml:6: upstream "u": target URL "http://me:pw@a" must not contain user info (set credentials with a request_headers filter)`},
		{"port", up("    targets: [{url: \"http://a:70000\"}]\n"), `gatehouse.yaml:6: upstream "u": target URL "http://a:70000" has an invalid port (use http://host:port, https://host, tcp://host:port or udp://host:port)`},
		{"no url", up("    targets: [{weight: 2}]\n"), `gatehouse.yaml:6: upstream "u": target has no url (add url: http://host:port)`},
		{"dup target", up("    targets:\n      - url: http://a\n      - url: http://a:80/\n"), `gatehouse.yaml:8: upstream "u": target http://a:80 is listed twice (first listed at gatehouse.yaml:7; use weight to send it more traffic)`},
		{"weight", up("    targets: [{url: \"http://a\", weight: 10001}]\n"), `gatehouse.yaml:6: upstream "u": weight 10001 is out of range (use 0..10000; 0 sends no traffic)`},
		{"all zero", up("    targets: [{url: \"http://a\", weight: 0}]\n"), `gatehouse.yaml:5: upstream "u": every target has weight 0, so no request can be served (give at least one target a weight above 0)`},
		{"idle", up("    max_idle_per_target: -1\n    targets: [{url: \"http://a\"}]\n"), `gatehouse.yaml:6: upstream "u": max_idle_per_target must not be negative (use 0 to keep no idle connections)`},
		{"ca missing", up("    targets: [{url: \"https://a\"}]\n    tls: {ca_file: /nonexistent/ca.pem}\n"), `gatehouse.yaml:7: upstream "u": cannot read ca_file: open /nonexistent/ca.pem: no such file or directory (check the path; relative paths are relative to the YAML file)`},
		{"ca empty", up("    targets: [{url: \"https://a\"}]\n    tls: {ca_file: " + key + "}\n"), `gatehouse.yaml:7: upstream "u": ca_file ` + key + ` contains no PEM certificate (it must contain PEM blocks starting with -----BEGIN CERTIFICATE-----)`},
		{"ca device", up("    targets: [{url: \"https://a\"}]\n    tls: {ca_file: /dev/zero}\n"), `gatehouse.yaml:7: upstream "u": ca_file /dev/zero is not a regular file (point at a regular file)`},
		{"client half", up("    targets: [{url: \"https://a\"}]\n    tls: {cert_file: " + cert + "}\n"), `gatehouse.yaml:7: upstream "u": tls has only one of cert_file and key_file (a client certificate needs both cert_file and key_file)`},
		{"server name", up("    targets: [{url: \"https://a\"}]\n    tls: {server_name: \"a b\"}\n"), `gatehouse.yaml:7: upstream "u": invalid server_name "a b" (use the DNS name in the target's certificate)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.src, c.want) })
	}
	c := mustParse(t, up("    targets: [{url: \"https://a\"}]\n    tls: {ca_file: "+cert+", cert_file: "+cert+", key_file: "+key+", insecure_skip_verify: true}\n"))
	if tls := c.Upstreams[0].TLS; tls.CAFile != cert || !tls.InsecureSkipVerify {
		t.Errorf("tls = %+v", tls)
	}
}

func TestValidateRoutes(t *testing.T) {
	route := func(body string) string { return base + "routes:\n  - name: r\n" + body }
	cases := []struct{ name, src, want string }{
		{"no name", base + "routes:\n  - backend: {upstream: users}\n", `gatehouse.yaml:8: route has no name (add name: with letters, digits, '.', '_' or '-')`},
		{"dup name", base + "routes:\n  - {name: r, respond: {}}\n  - {name: r, respond: {}}\n", `gatehouse.yaml:9: route "r" is defined twice (first defined at gatehouse.yaml:8; names must be unique)`},
		{"no action", route(""), `gatehouse.yaml:8: route "r": route has no action (add backend: {upstream: NAME}, respond: {...}, redirect: {...} or compose: {...})`},
		{"two actions", route("    backend: {upstream: users}\n    respond: {}\n"), `gatehouse.yaml:8: route "r": route has both backend and respond (keep exactly one of backend, respond, redirect or compose)`},
		{"no upstream", route("    backend: {}\n"), `gatehouse.yaml:9: route "r": backend has no upstream (add upstream: NAME)`},
		{"unknown upstream far", route("    backend: {upstream: payments}\n"), `gatehouse.yaml:9: route "r": upstream "payments" not found (define it under upstreams:)`},
		{"unknown listener", route("    listeners: [publc]\n    respond: {}\n"), `gatehouse.yaml:9: route "r": listener "publc" not found (did you mean "public"?)`},
		{"listener twice", route("    listeners:\n      - public\n      - public\n    respond: {}\n"), `gatehouse.yaml:11: route "r": listener "public" is listed twice (remove the duplicate)`},
		{"match and matches", route("    match: {}\n    matches: [{}]\n    respond: {}\n"), `gatehouse.yaml:10: route "r": match and matches are mutually exclusive (use match: for one set of conditions or matches: for alternatives, not both)`},
		{"empty matches", route("    matches: []\n    respond: {}\n"), `gatehouse.yaml:9: route "r": matches is empty (omit matches to match every request)`},
		{"host port", route("    match: {hosts: [\"a.com:443\"]}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": host "a.com:443" must not contain a port (hosts match the name only; remove the port)`},
		{"host wildcard", route("    match:\n      hosts:\n        - ok.com\n        - \"a.*.com\"\n    respond: {}\n"), `gatehouse.yaml:12: route "r": invalid host "a.*.com" (wildcards are only allowed as the whole first label, e.g. *.example.com)`},
		{"host chars", route("    match: {hosts: [\"a b.com\"]}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": invalid host "a b.com" (use a DNS name such as api.example.com or *.example.com)`},
		{"method", route("    match: {methods: [\"GET POST\"]}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": invalid method "GET POST" (use a method such as GET or POST)`},
		{"two path kinds", route("    match:\n      path: {exact: /a, prefix: /b}\n    respond: {}\n"), `gatehouse.yaml:10: route "r": path match needs exactly one kind (give exactly one of exact, prefix, regex or template)`},
		{"prefix slash", route("    match: {path: {prefix: v1}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": path prefix "v1" must start with / (start it with /)`},
		{"exact slash", route("    match: {path: {exact: v1}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": exact path "v1" must start with / (start it with /)`},
		{"regex", route("    match: {path: {regex: \"(a\"}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": invalid path regex "(a": missing closing ) (use RE2 syntax (https://golang.org/s/re2syntax))`},
		{"regex backref", route("    match: {path: {regex: '(a)\\1'}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": invalid path regex "(a)\\1": invalid escape sequence (use RE2 syntax (https://golang.org/s/re2syntax))`},
		{"template mixed", route("    match: {path: {template: \"/u/id{id}\"}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": path template "/u/id{id}": segment "id{id}" mixes text and a variable (variables are whole segments like /users/{id}; only the last may be {name...})`},
		{"template catchall", route("    match: {path: {template: \"/{rest...}/x\"}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": path template "/{rest...}/x": catch-all {rest...} must be the last segment (variables are whole segments like /users/{id}; only the last may be {name...})`},
		{"template dup", route("    match: {path: {template: \"/{id}/{id}\"}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": path template "/{id}/{id}": variable "id" is used twice (give each variable its own name)`},
		{"template name", route("    match: {path: {template: \"/{1d}\"}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": path template "/{1d}": invalid variable name "1d" (names are letters, digits and _, not starting with a digit)`},
		{"template empty", route("    match: {path: {template: \"/a//b\"}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": path template "/a//b" has an empty segment (remove the double slash)`},
		{"template slash", route("    match: {path: {template: \"a/{b}\"}}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": path template "a/{b}" must start with / (start it with /)`},
		{"header name", route("    match: {headers: [{name: \"X Env\", value: a}]}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": invalid header name "X Env" (use a header name such as X-Env)`},
		{"header none", route("    match: {headers: [{name: X-Env}]}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": header match "X-Env" needs exactly one condition (give exactly one of value, regex or present: true)`},
		{"header two", route("    match: {headers: [{name: X-Env, value: a, present: true}]}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": header match "X-Env" needs exactly one condition (give exactly one of value, regex or present: true)`},
		{"header regex", route("    match: {headers: [{name: X-Env, regex: \"[\"}]}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": invalid regex "[": missing closing ] (use RE2 syntax (https://golang.org/s/re2syntax))`},
		{"query no name", route("    match: {query: [{value: a}]}\n    respond: {}\n"), `gatehouse.yaml:9: route "r": query match has no name (add name: with the query parameter name)`},
		{"filter two", route("    filters:\n      - request_headers: {remove: [A]}\n        response_headers: {remove: [B]}\n    backend: {upstream: users}\n"), `gatehouse.yaml:10: route "r": filter needs exactly one of request_headers, response_headers, url_rewrite, request_mirror, request_body, response_body, deprecation or query (write each filter as its own list item (- request_headers: ...))`},
		{"filter empty", route("    filters: [{}]\n    backend: {upstream: users}\n"), `gatehouse.yaml:9: route "r": filter needs exactly one of request_headers, response_headers, url_rewrite, request_mirror, request_body, response_body, deprecation or query (write each filter as its own list item (- request_headers: ...))`},
		{"set header name", route("    filters:\n      - request_headers:\n          set:\n            X-A: 1\n            \"B C\": 2\n    backend: {upstream: users}\n"), `gatehouse.yaml:13: route "r": invalid header name "B C" (use a header name such as X-Api-Version)`},
		{"add header value", route("    filters:\n      - response_headers:\n          add: {X-A: \"a\\r\\nSet-Cookie: x\"}\n    backend: {upstream: users}\n"), `gatehouse.yaml:11: route "r": header "X-A" has an invalid value (remove line breaks and NUL bytes from the value)`},
		{"remove header", route("    filters:\n      - request_headers: {remove: [\"X:A\"]}\n    backend: {upstream: users}\n"), `gatehouse.yaml:10: route "r": invalid header name "X:A" (use a header name such as X-Debug)`},
		{"rewrite nothing", route("    filters: [{url_rewrite: {}}]\n    backend: {upstream: users}\n"), `gatehouse.yaml:9: route "r": url_rewrite changes nothing (give hostname, path or both)`},
		{"rewrite twice", route("    filters:\n      - url_rewrite: {hostname: a}\n      - url_rewrite: {hostname: b}\n    backend: {upstream: users}\n"), `gatehouse.yaml:11: route "r": route has more than one url_rewrite filter (combine hostname and path into one url_rewrite)`},
		{"rewrite no backend", route("    filters: [{url_rewrite: {hostname: a}}]\n    respond: {}\n"), `gatehouse.yaml:9: route "r": url_rewrite needs a backend (url_rewrite applies to requests forwarded to a backend)`},
		{"rewrite hostname", route("    filters: [{url_rewrite: {hostname: \"a/b\"}}]\n    backend: {upstream: users}\n"), `gatehouse.yaml:9: route "r": invalid hostname "a/b" (use a DNS name such as users.internal)`},
		{"rewrite both", route("    filters: [{url_rewrite: {path: {replace_full_path: /a, replace_prefix_match: /b}}}]\n    backend: {upstream: users}\n"), `gatehouse.yaml:9: route "r": path rewrite needs exactly one kind (give exactly one of replace_full_path or replace_prefix_match)`},
		{"rewrite slash", route("    filters: [{url_rewrite: {path: {replace_full_path: a}}}]\n    backend: {upstream: users}\n"), `gatehouse.yaml:9: route "r": replace_full_path "a" must start with / (start it with /)`},
		{"prefix rewrite no match", route("    filters: [{url_rewrite: {path: {replace_prefix_match: /b}}}]\n    backend: {upstream: users}\n"), `gatehouse.yaml:9: route "r": replace_prefix_match needs every match of the route to be a path prefix match (match with path: {prefix: ...}, or use replace_full_path)`},
		{"prefix rewrite mixed", route("    matches:\n      - path: {prefix: /a}\n      - path: {exact: /b}\n    filters:\n      - url_rewrite:\n          path:\n            replace_prefix_match: /x\n    backend: {upstream: users}\n"), `gatehouse.yaml:15: route "r": replace_prefix_match needs every match of the route to be a path prefix match (match with path: {prefix: ...}, or use replace_full_path)`},
		{"respond status", route("    respond: {status: 600}\n"), `gatehouse.yaml:9: route "r": respond status 600 is out of range (use an HTTP status between 100 and 599)`},
		{"respond header", route("    respond: {headers: {\"X\\u0000\": a}}\n"), `gatehouse.yaml:9: route "r": invalid header name "X\x00" (use a header name such as X-Api-Version)`},
		{"body and file", route("    respond: {body: a, body_file: b.txt}\n"), `gatehouse.yaml:9: route "r": respond has both body and body_file (keep one of body or body_file)`},
		{"body file missing", route("    respond: {body_file: /nonexistent/b.txt}\n"), `gatehouse.yaml:9: route "r": cannot read body_file: open /nonexistent/b.txt: no such file or directory (check the path; relative paths are relative to the YAML file)`},
		{"redirect status", route("    redirect: {path: /a, status: 200}\n"), `gatehouse.yaml:9: route "r": redirect status 200 is not a redirect (use 301, 302, 303, 307 or 308)`},
		{"redirect scheme", route("    redirect: {scheme: ftp}\n"), `gatehouse.yaml:9: route "r": invalid redirect scheme "ftp" (use http or https)`},
		{"redirect host port", route("    redirect: {host: \"a.com:8443\"}\n"), `gatehouse.yaml:9: route "r": redirect host "a.com:8443" must not contain a port (set the port with port:)`},
		{"redirect host", route("    redirect: {host: \"a_b c\"}\n"), `gatehouse.yaml:9: route "r": invalid redirect host "a_b c" (use a DNS name such as www.example.com)`},
		{"redirect port", route("    redirect: {port: 65536}\n"), `gatehouse.yaml:9: route "r": redirect port 65536 is out of range (use a port between 1 and 65535)`},
		{"redirect path", route("    redirect: {path: x}\n"), `gatehouse.yaml:9: route "r": redirect path "x" must start with / (start it with /)`},
		{"redirect path and prefix", route("    match: {path: {prefix: /a}}\n    redirect: {path: /x, replace_prefix_match: /y}\n"), `gatehouse.yaml:10: route "r": redirect has both path and replace_prefix_match (keep one of path or replace_prefix_match)`},
		{"redirect prefix slash", route("    match: {path: {prefix: /a}}\n    redirect: {replace_prefix_match: y}\n"), `gatehouse.yaml:10: route "r": replace_prefix_match "y" must start with / (start it with /)`},
		{"redirect prefix exact", route("    match: {path: {exact: /a}}\n    redirect: {replace_prefix_match: /y}\n"), `gatehouse.yaml:10: route "r": replace_prefix_match needs every match of the route to be a path prefix match (match with path: {prefix: ...}, or use path)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.src, c.want) })
	}
}

// TestRedirectSameURLWarns: a redirect that changes nothing is allowed (a
// 303 to the same URL, as Gateway API's conformance sends) but warned of.
func TestRedirectSameURLWarns(t *testing.T) {
	c := mustParse(t, base+"routes:\n  - name: r\n    redirect: {status: 303}\n")
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].String(), `gatehouse.yaml:9: route "r": redirect to the same URL`) {
		t.Fatalf("warnings %v", c.Warnings)
	}
}

func TestRouteNormalization(t *testing.T) {
	c := mustParse(t, base+`routes:
  - name: r
    match: {hosts: [API.Example.COM, "*.Example.com"], methods: [get, Post]}
    backend: {upstream: users}
  - name: v
    match: {headers: [{name: X-Empty, value: ""}]}
    respond: {status: 204}
`)
	m := c.Routes[0].Match
	if strings.Join(m.Hosts, ",") != "api.example.com,*.example.com" || strings.Join(m.Methods, ",") != "GET,POST" {
		t.Errorf("hosts=%v methods=%v", m.Hosts, m.Methods)
	}
	// value: "" is an explicit condition (header present and empty).
	if h := c.Routes[1].Match.Headers[0]; h.Value != "" || h.Present {
		t.Errorf("header = %+v", h)
	}
}

func TestNamesValid(t *testing.T) {
	for _, ok := range []string{"a", "A1", "users-api", "v1.users_api", "0"} {
		if !validName(ok) {
			t.Errorf("validName(%q) = false", ok)
		}
	}
	for _, bad := range []string{"", "-a", ".a", "_a", "a b", "a/b", "ä"} {
		if validName(bad) {
			t.Errorf("validName(%q) = true", bad)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"listeners", "admin", "access_log", "upstreams", "routes"}
	for in, want := range map[string]string{"listner": "listeners", "Routes": "routes", "upstream": "upstreams", "acces_log": "access_log", "foo": "", "": "", "rout": "routes", "ro": ""} {
		if got := suggest(in, keys); got != want {
			t.Errorf("suggest(%q) = %q, want %q", in, got, want)
		}
	}
	if got := suggest(strings.Repeat("a", 1000), []string{strings.Repeat("a", 1000)}); got == "" {
		t.Error("identical long strings not suggested")
	}
}
