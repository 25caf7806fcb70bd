package config

import (
	"testing"
	"time"
)

func TestValidateResilience(t *testing.T) {
	up := "listeners:\n  - {name: public, address: \"127.0.0.1:8080\"}\nupstreams:\n  - name: users\n    targets: [{url: \"http://127.0.0.1:9000\"}]\n"
	route := "routes:\n  - name: r\n    backend: {upstream: users}\n"
	cases := []struct{ name, src, want string }{
		{"hash without balance", up + "    hash: {on: header, key: X-User}\n", `gatehouse.yaml:6: upstream "users": hash: is only used with balance: hash (set balance: hash, or remove hash:)`},
		{"hash key missing", up + "    balance: hash\n    hash: {on: header}\n", `gatehouse.yaml:7: upstream "users": hash on header needs a key (name the header to hash, e.g. key: X-User-Id)`},
		{"check type", up + "    health_check: {type: htp}\n", `gatehouse.yaml:6: upstream "users": unknown health_check.type "htp" (did you mean "http"?)`},
		{"expect status", up + "    health_check: {expect_status: [\"399-200\"]}\n", `gatehouse.yaml:6: upstream "users": health_check.expect_status: "399-200" is out of 100..599 or reversed (use a code like "204" or a range like "200-399")`},
		{"thresholds", up + "    health_check: {healthy_threshold: 0}\n", `gatehouse.yaml:6: upstream "users": health_check thresholds must be at least 1 (use 1 or more)`},
		{"outlier percent", up + "    outlier_detection: {max_ejected_percent: 101}\n", `gatehouse.yaml:6: upstream "users": max_ejected_percent 101 is out of range (use 0..100)`},
		{"breaker", up + "    circuit_breaker: {max_in_flight: 0}\n", `gatehouse.yaml:6: upstream "users": circuit_breaker needs max_in_flight ≥ 1 and max_pending ≥ 0 (e.g. max_in_flight: 1000, max_pending: 100)`},
		{"samesite none", up + "    sticky: {same_site: none}\n", `gatehouse.yaml:6: upstream "users": browsers drop SameSite=None cookies that are not Secure (set secure: true)`},
		{"srv name", up + "    discovery: {srv: true}\n", `gatehouse.yaml:5: upstream "users": discovery.srv: target http://127.0.0.1:9000 is not an SRV name (an SRV name such as http://_http._tcp.api.internal)`},
		{"none healthy", up + "    when_none_healthy: any\n", `gatehouse.yaml:6: upstream "users": unknown when_none_healthy "any" (use one of fail, all)`},
		{"retry condition", up + route + "    retry: {on: [conect-failure]}\n", `gatehouse.yaml:9: route "r": unknown retry condition "conect-failure" (did you mean "connect-failure"?)`},
		{"retry code", up + route + "    retry: {on: [\"399\"]}\n", `gatehouse.yaml:9: route "r": unknown retry condition "399" (use connect-failure, reset, timeout, 5xx or a status code 400-599)`},
		{"retry backoff_min", up + route + "    retry: {backoff_min: -1s}\n", `gatehouse.yaml:9: route "r": negative duration -1s for backoff_min (use 0 to disable it)`},
		{"retry attempts", up + route + "    retry: {attempts: 0}\n", `gatehouse.yaml:9: route "r": retry.attempts 0 is out of range (use 1..10 (tries, the first included))`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.src, c.want) })
	}
}

// TestTargetRequestHeaders: a target's request_headers are checked like a
// filter's and load.
func TestTargetRequestHeaders(t *testing.T) {
	c := mustParse(t, "listeners: [{name: a, address: \"127.0.0.1:0\"}]\nupstreams: [{name: u, targets: [{url: \"http://127.0.0.1:9000\", request_headers: {set: {Backend: v1}}}]}]\n")
	if h := c.Upstreams[0].Targets[0].RequestHeaders; h == nil || h.Set["Backend"] != "v1" {
		t.Fatalf("%+v", h)
	}
	wantErr(t, "listeners: [{name: a, address: \"127.0.0.1:0\"}]\nupstreams:\n  - name: u\n    targets: [{url: \"http://127.0.0.1:9000\", request_headers: {remove: [\"a b\"]}}]\n",
		`gatehouse.yaml:4: upstream "u": invalid header name "a b" (use a header name such as X-Debug)`)
}

// TestRetryGatewayFields: 4xx codes, backoff_min and same_target load.
func TestRetryGatewayFields(t *testing.T) {
	c := mustParse(t, "listeners: [{name: a, address: \"127.0.0.1:0\"}]\nupstreams: [{name: u, targets: [{url: \"http://127.0.0.1:9000\"}]}]\nroutes:\n  - name: r\n    backend: {upstream: u}\n    retry: {attempts: 4, on: [\"429\", \"500\"], backoff_min: 100ms, same_target: true}\n")
	if rt := c.Routes[0].Retry; rt.BackoffMin != 100*time.Millisecond || !rt.SameTarget || rt.On[0] != "429" {
		t.Fatalf("%+v", rt)
	}
}

func TestParseStatusRange(t *testing.T) {
	for in, want := range map[string][2]int{"200": {200, 200}, "200-399": {200, 399}, " 204 - 299 ": {204, 299}} {
		lo, hi, err := ParseStatusRange(in)
		if err != nil || lo != want[0] || hi != want[1] {
			t.Errorf("%q: %d-%d %v", in, lo, hi, err)
		}
	}
	for _, bad := range []string{"", "2xx", "600", "300-200", "99"} {
		if _, _, err := ParseStatusRange(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDiscoverySRV(t *testing.T) {
	c := mustParse(t, "listeners: [{name: a, address: \"127.0.0.1:0\"}]\nupstreams:\n  - name: u\n    discovery: {srv: true}\n    targets: [{url: \"http://_http._tcp.api.internal\"}]\n")
	if d := c.Upstreams[0].Discovery; !d.SRV || d.Interval <= 0 {
		t.Fatalf("%+v", d)
	}
}
