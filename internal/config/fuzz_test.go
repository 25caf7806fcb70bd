package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that no input panics or hangs the parser and that every
// reported problem can be located.
func FuzzParse(f *testing.F) {
	env := map[string]string{"PORT": "8080", "HOST": "example.com"}
	old := lookupEnv
	lookupEnv = func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	f.Cleanup(func() { lookupEnv = old })

	if full, err := os.ReadFile("testdata/full/gatehouse.yaml"); err == nil {
		f.Add(full)
	}
	for _, seed := range []string{
		minimal,
		base + "routes:\n  - {name: r, backend: {upstream: users}, match: {path: {template: \"/a/{b}/{c...}\"}}}\n",
		"listeners:\n  - name: ${NAME:-public}\n    address: 127.0.0.1:${PORT}\n",
		"x-a: &a {address: \":1\"}\nlisteners:\n  - <<: *a\n    name: a\n  - {<<: [*a, {h2c: true}], name: b, address: \":2\"}\n",
		"a: &a [*a]\nlisteners: *a\n",
		"log: &l {<<: *l}\n",
		"x: &x [a, a, a]\ny: &y [*x, *x, *x]\nz: &z [*y, *y, *y]\nroutes: [{name: r, respond: {}, match: {hosts: *z}}]\n",
		"runtime: {gc_percent: 9999999999999999999999999999}\nlisteners: [{name: a, address: \":99999999999999999999\"}]\n",
		strings.Repeat("[", 200) + strings.Repeat("]", 200),
		strings.Repeat("- ", 300) + "a\n",
		"listeners:\n\t- name: a\n",
		secBase + "      jwt: {secret: " + strings.Repeat("s", 32) + ", required_claims: {a: [b], c: d}, keys: [{pem: x}]}\n      rate_limit: {limit: 1, window: 1s, limits: [{limit: 2, window: 1m, key: \"consumer+header:X\"}]}\n",
		"plans: [{name: p, quota: {limit: 1, period: rolling, window: 1h}}]\nconsumers: [{name: c, plan: p, api_keys: [{key_hash: zz}]}]\n" + secBase + "      quota: {use_plan: true}\n      consumer_headers: {X-A: metadata.}\n",
		"a: 1\n---\nb: 2\n",
		l4Base + "l4_routes:\n  - {name: r, listeners: [t], upstream: db, match: {sni: [\"*.a.b\", A.B.], alpn: [h2], client_ips: [10.0.0.0/8, \"::1\"], destination_ports: [1, 65536, -1]}, idle_timeout: 1h}\n  - {name: s, listeners: [u], upstream: dns, responses: -2}\n",
		"listeners:\n  - {name: a, address: \":1\", protocol: tls, proxy_protocol: {trusted: [1.2.3.4], timeout: 0s, required: true}, max_connections: -1}\nupstreams:\n  - {name: u, proxy_protocol: v2, max_connections_per_target: 3, hash: {on: sni}, balance: least_connections, targets: [{url: \"udp://[::1]:53\"}], health_check: {type: udp, send: x, expect: y}}\n",
		"? [a, b]\n: c\n",
		base + "routes:\n  - {name: r, backend: {upstream: users}, filters: [{request_mirror: {upstream: users, percent: 1e-3}}, {request_mirror: {upstream: x, percent: NaN}}, {request_mirror: {percent: [1]}}]}\n",
		base + "routes:\n  - {name: r, backend: {upstream: users}, filters: [{request_body: {set: {a.b: 1, \"c[\\\"x.y\\\"]\": [true, null, {d: 0x1f}], e: .nan, f: yes}, remove: [x, \"y.\"], rename: {a: b, \"a.*.b\": c}, allow: [\"items.*.id\"], deny: [\"a[\"], wrap: w, extract: data, max_bytes: 1KiB}}, {response_body: {jq: \"{id, tags: [.items[].tag]}\", max_bytes: 0}}, {response_body: {jq: \"{\"}}, {response_body: {}}]}\n",
		base + "versioning: {header: X-V, media_type: application/vnd.a, query: v}\nroutes:\n  - {name: r, backend: {upstream: users}, matches: [{version: \"2\"}, {version: 3, path: {prefix: /a}}, {version: \"\"}], filters: [{deprecation: {since: 2026-01-01T00:00:00Z, sunset: 2025-01-01T00:00:00Z, link: \"https://d.example/<x>\"}}, {deprecation: {sunset: [1]}}]}\n",
		"versioning: {media_type: \"a/b+json; q=1\", query: \"\"}\nroutes: [{name: r, respond: {}, match: {version: \"v 1\"}, filters: [{deprecation: {since: yesterday, link: /x}}]}]\n",
		base + "routes:\n  - {name: r, backend: {upstream: users}, filters: [{query: {set: {a: \"${client_ip}\", \"\": x}, add: {b: \"$${x} ${PORT} ${jwt.sub\"}, remove: [c, \"\"]}, when: 'method == \"GET\" && header[\"x\"] == \"1\"'}]}\n",
		base + "routes:\n  - name: r\n    backend: {upstream: users}\n    filters:\n      - request_headers: {set: {X-A: \"${header.x-b} ${param.id} $$ ${HOST:-h}\"}, add: {X-B: \"${status}\"}}\n        when: status >= 500\n      - response_headers: {set: {X-S: \"${status} ${response_header.server}\"}}\n        when: 'status == \"x\" || [1,2].all(i, i > 0)'\n      - url_rewrite: {hostname: a}\n        when: ')('\n",
		"upstreams:\n  - name: u\n    targets: [{url: \"http://127.0.0.1:9\", request_headers: {set: {X-T: \"${client_ip} $${x}\"}}}]\n",
		"*unknown\n",
		base + "routes:\n  - name: c\n    compose:\n      merge: merge\n      max_body_bytes: 1KiB\n      steps:\n        - {name: a, upstream: users, url: \"/u/${param.id}?t=${TENANT:-x}\", allow: [id, user.name], mapping: {id: uid}, headers: {X-A: \"${header.x}\"}}\n        - {name: b, path: \"/p/${steps.a.uid}/$${lit}\", needs: [a, c], for_each: steps.a.ids, concurrency: 99, max_items: -1, body: {k: [\"${item}\", 1, .inf, null, {x: &x [*x]}]}, on_error: default, default: {a: [1]}, when: \"\", group: g}\n        - {name: c, upstream: users, needs: [b], on_error: omit, target: data, deny: [\"a..b\"]}\n",
		"listeners: [{name: a, address: \":1\", max_header_bytes: 9223372036854775807GiB}]\n",
		"routes: [{name: r, redirect: {port: -1, status: 0}, respond: {status: 1e3}}]\n",
		"\xef\xbb\xbflisteners: []\n",
		"listeners: [!!binary aGVsbG8=]\n",
		"listeners: [{name: \"\\0\", address: \"\\u2028\"}]\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		c, err := Parse("fuzz.yaml", data)
		if d := time.Since(start); d > 10*time.Second { // generous: the machine is shared
			t.Fatalf("Parse took %v", d)
		}
		if err == nil {
			if c == nil {
				t.Fatal("nil Config without error")
			}
			for _, l := range c.Listeners {
				if (l.Protocol != "http" && l.Protocol != "https") || l.MaxHeaderBytes <= 0 || (l.Protocol == "https") != (l.TLS != nil) {
					t.Fatalf("accepted listener violates invariants: %+v", l)
				}
			}
			for _, r := range c.Routes {
				n := 0
				for _, set := range []bool{r.Backend != nil, r.Respond != nil, r.Redirect != nil} {
					if set {
						n++
					}
				}
				if n != 1 {
					t.Fatalf("accepted route with %d actions", n)
				}
			}
			return
		}
		var errs Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error is not a non-empty Errors: %T %v", err, err)
		}
		for _, e := range errs {
			if e.Line < 1 && e.File == "" {
				t.Fatalf("unlocated error: %q", e.Error())
			}
			if e.Msg == "" {
				t.Fatalf("empty message at %v", e.Pos)
			}
		}
	})
}
