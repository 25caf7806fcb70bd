package config

import "testing"

func TestValidateTransforms(t *testing.T) {
	const src = "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n" +
		"upstreams:\n" +
		"  - {name: users, targets: [{url: \"http://127.0.0.1:9000\"}]}\n" +
		"routes:\n  - name: r\n    backend: {upstream: users}\n    filters:\n"
	cases := []struct{ name, filters, want string }{
		{"unknown variable", "      - request_headers:\n          set:\n            X-A: ok\n            X-B: \"${client_ipp}\"\n",
			`gatehouse.yaml:11: route "r": value of "X-B": at offset 0: unknown variable "client_ipp"`},
		{"status in request", "      - request_headers:\n          add: {X-S: \"${status}\"}\n",
			`gatehouse.yaml:9: route "r": value of "X-S": at offset 0: status has no value here: only response filters and conditions see the response`},
		{"query template", "      - query:\n          set: {a: \"x${nope\"}\n",
			`gatehouse.yaml:9: route "r": value of "a": at offset 1: unclosed ${: add }`},
		{"query empty", "      - query: {}\n", `gatehouse.yaml:8: route "r": query filter changes nothing (give set, add or remove)`},
		{"query empty name", "      - query: {remove: [\"\"]}\n", `gatehouse.yaml:8: route "r": query parameter with an empty name (name the parameter)`},
		{"when type", "      - request_headers: {set: {X-A: a}}\n        when: 'method == 1'\n",
			`gatehouse.yaml:9: route "r": when: 1:8: found no matching overload for '_==_' applied to '(string, int)'`},
		{"when not bool", "      - query: {remove: [a]}\n        when: method\n",
			`gatehouse.yaml:9: route "r": when: condition must be a bool, not string`},
		{"when status on request", "      - url_rewrite: {hostname: a.test}\n        when: status >= 500\n",
			`gatehouse.yaml:9: route "r": when: 1:1: status has no value here: only response filters and conditions see the response`},
		{"when syntax", "      - response_headers: {set: {X-A: a}}\n        when: status >=\n",
			`gatehouse.yaml:9: route "r": when: 1:10: Syntax error`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErrPrefix(t, src+c.filters, c.want) })
	}
	c := mustParse(t, src+"      - response_headers: {set: {X-S: \"${status} ${response_header.server}\"}}\n        when: status >= 500 && response_header[\"server\"] != \"\"\n"+
		"      - query: {set: {ip: \"${client_ip}\"}, add: {t: \"${jwt.sub}\"}, remove: [key]}\n        when: 'header[\"x-debug\"] == \"1\"'\n")
	f := c.Routes[0].Filters
	if len(f) != 2 || f[0].When == "" || f[1].Query.Set["ip"] != "${client_ip}" || f[1].Query.Remove[0] != "key" || !f[0].ResponsePhase() || f[1].ResponsePhase() {
		t.Fatalf("filters %+v %+v", f[0], f[1])
	}
}

// wantErrPrefix is wantErr for messages whose hint is long: the first
// error must start with want.
func wantErrPrefix(t *testing.T, src, want string) {
	t.Helper()
	errs := parseErrs(t, src)
	if len(errs) == 0 || len(errs[0]) < len(want) || errs[0][:len(want)] != want {
		t.Fatalf("got %q\nwant prefix %q", errs, want)
	}
}

// Template maps keep ${variable} and $${ for the template compiler; an
// environment variable that is set is still substituted.
func TestTemplatesEnv(t *testing.T) {
	setEnv(t, map[string]string{"TOKEN": "s3cret", "host": "env-host"})
	src := "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n" +
		"upstreams:\n  - name: users\n    targets:\n      - url: \"http://127.0.0.1:9000\"\n        request_headers: {set: {X-T: \"Bearer ${TOKEN}\", X-L: \"$${x} $$5\"}}\n" +
		"routes:\n  - name: r\n    backend: {upstream: users}\n    filters:\n" +
		"      - request_headers: {set: {A: \"Bearer ${TOKEN}\", B: \"${client_ip} ${host} $${x} $$5 ${UNSET:-d}\"}}\n" +
		"        when: 'header[\"x\"] == \"${TOKEN}\"'\n"
	c := mustParse(t, src)
	set := c.Routes[0].Filters[0].RequestHeaders.Set
	if set["A"] != "Bearer s3cret" || set["B"] != "${client_ip} ${host} $${x} $5 d" {
		t.Fatalf("set %q", set)
	}
	if w := c.Routes[0].Filters[0].When; w != `header["x"] == "s3cret"` {
		t.Fatalf("when %q", w)
	}
	tset := c.Upstreams[0].Targets[0].RequestHeaders.Set
	if tset["X-T"] != "Bearer s3cret" || tset["X-L"] != "$${x} $5" {
		t.Fatalf("target set %q", tset)
	}
	wantErrPrefix(t, "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n"+
		"upstreams:\n  - name: users\n    targets:\n      - url: \"http://127.0.0.1:9000\"\n        request_headers:\n          set: {X-T: \"${client_ip}\"}\n"+
		"routes:\n  - name: r\n    backend: {upstream: users}\n",
		`gatehouse.yaml:7: upstream "users": target request_headers value of "X-T" uses a variable; target headers are literal`)
}
