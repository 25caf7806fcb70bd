package config

import (
	"encoding/json"
	"reflect"
	"testing"
)

const bodySrc = "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n" +
	"upstreams:\n" +
	"  - {name: users, targets: [{url: \"http://127.0.0.1:9000\"}]}\n" +
	"routes:\n  - name: r\n    backend: {upstream: users}\n    filters:\n"

func TestValidateBodyTransform(t *testing.T) {
	cases := []struct{ name, filters, want string }{
		{"bad jq", "      - response_body:\n          jq: '{a: .b'\n", `gatehouse.yaml:9: route "r": response_body jq: unexpected EOF (see the jq manual; gojq's dialect, no modules, $ENV is empty)`},
		{"undefined jq function", "      - response_body: {jq: 'nope(1)'}\n", `gatehouse.yaml:8: route "r": response_body jq: function not defined: nope/1 (see the jq manual; gojq's dialect, no modules, $ENV is empty)`},
		{"bad allow path", "      - request_body:\n          allow:\n            - id\n            - a..b\n", `gatehouse.yaml:11: route "r": request_body allow: path "a..b": empty segment at offset 2 (` + pathHint + `)`},
		{"bad deny path", "      - request_body: {deny: [\"a[\"]}\n", `gatehouse.yaml:8: route "r": request_body deny: path "a[": missing ] for [ at offset 1 (` + pathHint + `)`},
		{"bad remove path", "      - request_body:\n          remove: [x, \"y.\"]\n", `gatehouse.yaml:9: route "r": request_body remove: path "y." ends with a dot (` + pathHint + `)`},
		{"bad set path", "      - request_body:\n          set:\n            ok: 1\n            \"a]\": 2\n", `gatehouse.yaml:11: route "r": request_body set: path "a]": unexpected ']' at offset 1 (quote keys with special characters as ["key"]) (` + pathHint + `)`},
		{"bad rename", "      - response_body:\n          rename:\n            a.*.b: c.*.b\n", `gatehouse.yaml:10: route "r": response_body rename a.*.b → c.*.b: with wildcards both paths must share everything up to the last * and go on after it (` + pathHint + `)`},
		{"wildcard extract", "      - response_body:\n          extract: items.*\n", `gatehouse.yaml:9: route "r": response_body extract: path "items.*" has a wildcard; extract takes one value (` + pathHint + `)`},
		{"nothing", "      - response_body: {max_bytes: 1KiB}\n", `gatehouse.yaml:8: route "r": response_body does nothing (add set, remove, rename, allow, deny, wrap, extract or jq)`},
		{"max_bytes zero", "      - response_body:\n          wrap: data\n          max_bytes: 0\n", `gatehouse.yaml:10: route "r": response_body max_bytes must be positive (use a size such as 256KiB or 4MiB (omit it for 1MiB))`},
		{"with another filter", "      - response_body: {wrap: d}\n        request_body: {wrap: d}\n", `gatehouse.yaml:8: route "r": filter needs exactly one of request_headers, response_headers, url_rewrite, request_mirror, request_body, response_body, deprecation or query (write each filter as its own list item (- request_headers: ...))`},
		{"set value not JSON", "      - request_body:\n          set: {a: .inf}\n", `gatehouse.yaml:9: route "r": set.a: .inf is not a JSON number (write a decimal number, or quote it for a string)`},
		{"set value yes", "      - request_body:\n          set: {a: [yes]}\n", `gatehouse.yaml:9: route "r": invalid boolean "yes" for set.a item (use true or false, or quote it for a string)`},
		{"rename to a list", "      - request_body:\n          rename: {a: [b]}\n", `gatehouse.yaml:9: route "r": rename.a must be a string, not a list (quote it if it contains special characters)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, bodySrc+c.filters, c.want) })
	}
}

func TestBodyTransformDecode(t *testing.T) {
	setEnv(t, map[string]string{"REGION": "eu"})
	c := mustParse(t, bodySrc+
		"      - request_body:\n"+
		"          set:\n"+
		"            a.b: x\n"+
		"            n: 12345678901234567890\n"+
		"            h: 0x1f\n"+
		"            f: 1.5\n"+
		"            t: true\n"+
		"            z: null\n"+
		"            region: ${REGION}\n"+
		"            o: {k: [1, \"2\", {q: false}]}\n"+
		"          rename: {Name: name, name: Name}\n"+
		"          remove: [secret]\n"+
		"      - response_body: {jq: '.data', max_bytes: 64KiB}\n")
	rb := c.Routes[0].Filters[0].RequestBody
	want := map[string]any{
		"a.b": "x", "n": json.Number("12345678901234567890"), "h": json.Number("31"), "f": json.Number("1.5"),
		"t": true, "z": nil, "region": "eu",
		"o": map[string]any{"k": []any{json.Number("1"), "2", map[string]any{"q": false}}},
	}
	if !reflect.DeepEqual(rb.Set, want) {
		t.Errorf("set %#v\nwant %#v", rb.Set, want)
	}
	if !reflect.DeepEqual(rb.Rename, PathMap{"Name": "name", "name": "Name"}) {
		t.Errorf("rename %v", rb.Rename)
	}
	if rb.MaxBytes != 1<<20 {
		t.Errorf("default max_bytes %d", rb.MaxBytes)
	}
	if r := c.Routes[0].Filters[1].ResponseBody; r.JQ != ".data" || r.MaxBytes != 64<<10 {
		t.Errorf("response_body %+v", r)
	}
}
