package config

import "testing"

func TestValidateRequestMirror(t *testing.T) {
	const src = "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n" +
		"upstreams:\n" +
		"  - {name: users, targets: [{url: \"http://127.0.0.1:9000\"}]}\n" +
		"  - {name: shadow, targets: [{url: \"http://127.0.0.1:9001\"}]}\n" +
		"  - {name: db, targets: [{url: \"tcp://127.0.0.1:5432\"}]}\n" +
		"routes:\n  - name: r\n    backend: {upstream: users}\n    filters:\n"
	cases := []struct{ name, filters, want string }{
		{"no upstream", "      - request_mirror: {percent: 5}\n", `gatehouse.yaml:10: route "r": request_mirror has no upstream (add upstream: NAME (the upstream that gets the copies))`},
		{"unknown upstream", "      - request_mirror: {upstream: shadw}\n", `gatehouse.yaml:10: route "r": upstream "shadw" not found (did you mean "shadow"?)`},
		{"l4 upstream", "      - request_mirror:\n          upstream: db\n", `gatehouse.yaml:11: route "r": request_mirror upstream "db" has tcp target tcp://127.0.0.1:5432 (mirror to an upstream with http:// or https:// targets)`},
		{"percent zero", "      - request_mirror:\n          upstream: shadow\n          percent: 0\n", `gatehouse.yaml:12: route "r": request_mirror percent 0 is out of range (use a share above 0 and at most 100 (omit it for 100))`},
		{"percent over", "      - request_mirror: {upstream: shadow, percent: 100.5}\n", `gatehouse.yaml:10: route "r": request_mirror percent 100.5 is out of range (use a share above 0 and at most 100 (omit it for 100))`},
		{"with another filter", "      - request_mirror: {upstream: shadow}\n        url_rewrite: {hostname: a}\n", `gatehouse.yaml:10: route "r": filter needs exactly one of request_headers, response_headers, url_rewrite, request_mirror, request_body, response_body, deprecation or query (write each filter as its own list item (- request_headers: ...))`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, src+c.filters, c.want) })
	}
	// Several mirrors; percent defaults to 100, a fraction is kept.
	c := mustParse(t, src+"      - request_mirror: {upstream: shadow}\n      - request_mirror: {upstream: users, percent: 0.5}\n")
	f := c.Routes[0].Filters
	if len(f) != 2 || f[0].RequestMirror.Percent != 100 || f[1].RequestMirror.Percent != 0.5 || f[1].RequestMirror.Upstream != "users" {
		t.Fatalf("filters %+v %+v", f[0].RequestMirror, f[1].RequestMirror)
	}
}

// Decimal numbers are decoded (they were silently ignored before
// request_mirror's percent needed them; retry_budget.ratio too).
func TestDecodeFloat(t *testing.T) {
	c := mustParse(t, "listeners: [{name: a, address: \"127.0.0.1:0\"}]\nupstreams:\n  - name: u\n    targets: [{url: \"http://127.0.0.1:9\"}]\n    retry_budget: {ratio: 0.5}\n")
	if r := c.Upstreams[0].RetryBudget.Ratio; r != 0.5 {
		t.Fatalf("ratio %v", r)
	}
	wantErr(t, "listeners: [{name: a, address: \"127.0.0.1:0\"}]\nupstreams:\n  - name: u\n    targets: [{url: \"http://127.0.0.1:9\"}]\n    retry_budget: {ratio: half}\n",
		`gatehouse.yaml:5: upstream "u": invalid number "half" for ratio (use a decimal number such as 0.5)`)
}
