package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const secBase = "listeners:\n  - {name: public, address: \"127.0.0.1:8080\"}\nroutes:\n  - name: r\n    respond: {status: 200}\n    policies:\n"

func TestValidateSecurity(t *testing.T) {
	secret := strings.Repeat("s", 32)
	cases := []struct{ name, src, want string }{
		{"alg none", secBase + "      jwt: {secret: " + secret + ", algorithms: [none]}\n",
			`gatehouse.yaml:7: route "r": algorithm none is not allowed (unsigned tokens are never accepted)`},
		{"unknown alg", secBase + "      jwt: {secret: " + secret + ", algorithms: [HS257]}\n",
			`gatehouse.yaml:7: route "r": unknown algorithm "HS257" (did you mean "HS256"?)`},
		{"short secret", secBase + "      jwt: {secret: short}\n",
			`gatehouse.yaml:7: route "r": HMAC secret is too short (use at least 32 random bytes (RFC 7518 §3.2))`},
		{"no provider", secBase + "      jwt: {required_scopes: [read]}\n",
			`gatehouse.yaml:7: route "r": jwt has no provider (name providers: [...] or give jwks_url:, keys: or secret: inline)`},
		{"unknown provider", "jwt_providers:\n  - {name: idp, jwks_url: \"https://id.example.com/jwks\"}\n" + secBase + "      jwt: {providers: [idpp]}\n",
			`gatehouse.yaml:9: route "r": jwt provider "idpp" not found (did you mean "idp"?)`},
		{"cors star credentials", secBase + "      cors: {allow_origins: [\"*\"], allow_credentials: true}\n",
			`gatehouse.yaml:7: route "r": cors: allow_credentials cannot be used with origin "*" (list the origins explicitly)`},
		{"waf paranoia", secBase + "      waf: {paranoia_level: 5}\n",
			`gatehouse.yaml:7: route "r": paranoia_level 5 is out of range (1 (default) to 4)`},
		{"authorize alone", secBase + "      authorize: {any_groups: [admin]}\n",
			`gatehouse.yaml:7: route "r": authorize needs an authentication policy (add an authentication policy (api_key, jwt, basic_auth, introspection, ext_auth, mtls))`},
		{"mtls on http", secBase + "      mtls: {}\n",
			`gatehouse.yaml:7: route "r": mtls on listener "public", which does not verify client certificates (attach the route only to https listeners with tls.client_auth)`},
		{"bad key hash", "consumers:\n  - name: alice\n    api_keys: [{key_hash: abc}]\n" + secBase + "      api_key: {}\n",
			`gatehouse.yaml:3: consumer "alice": invalid key_hash (64 hex digits: the SHA-256 of the key)`},
		{"bad bcrypt", "consumers:\n  - name: alice\n    basic_auth: {username: alice, password_hash: plain}\n" + secBase + "      basic_auth: {}\n",
			`gatehouse.yaml:3: consumer "alice": basic_auth password_hash is not a bcrypt hash (use a bcrypt hash, e.g. from ` + "`htpasswd -nbB user pass`" + `)`},
		{"unknown policy", secBase + "      jwtt: {}\n", `gatehouse.yaml:7: unknown key "jwtt" in route "r" (did you mean "jwt"?)`},
		{"consumer header field", secBase + "      api_key: {}\n      consumer_headers: {X-Team: metadata}\n",
			`gatehouse.yaml:8: route "r": unknown consumer_headers field "metadata" (did you mean "metadata.KEY"?)`},
		{"consumer header name", secBase + "      api_key: {}\n      consumer_headers: {\"X Team\": name}\n",
			`gatehouse.yaml:8: route "r": invalid header name "X Team" in consumer_headers (a header name such as X-Consumer-Id)`},
		{"private pem", secBase + "      jwt: {keys: [{pem: \"-----BEGIN PRIVATE KEY-----\\nx\\n-----END PRIVATE KEY-----\"}]}\n",
			`gatehouse.yaml:7: route "r": pem holds a private key (give the public key; the gateway only verifies)`},
		{"two key sources", secBase + "      jwt: {keys: [{pem: x, secret: y}]}\n",
			`gatehouse.yaml:7: route "r": a key needs exactly one of file, pem and secret (give file: (a PEM public key or certificate), pem: (the same inline) or secret:)`},
		{"redis no addrs", "store: {redis: {}}\n" + secBase + "      api_key: {}\n", `gatehouse.yaml:1: store: redis needs at least one address (add addrs: ["127.0.0.1:6379"])`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.src, c.want) })
	}
}

func TestSecurityDefaults(t *testing.T) {
	src := "consumers:\n  - name: alice\n    groups: [admin]\n    api_keys: [{key: abcdefghijklmnopqrstuvwxyz}]\n" +
		secBase + "      api_key: {}\n      jwt:\n        jwks_url: https://id.example.com/jwks\n        required_claims: {tier: gold, role: [a, b]}\n"
	c := mustParse(t, src)
	p := c.Routes[0].Policies
	if p.APIKey.Header != "X-Api-Key" || !p.APIKey.HideCredentials {
		t.Errorf("api_key defaults: %+v", p.APIKey)
	}
	j := p.JWT
	if j.Header != "Authorization" || j.Leeway != 30*time.Second || j.ConsumerClaim != "sub" || !slices.Contains(j.Algorithms, "RS256") || slices.Contains(j.Algorithms, "HS256") {
		t.Errorf("jwt defaults: %+v", j)
	}
	if !slices.Equal(j.RequiredClaims["tier"], []string{"gold"}) || !slices.Equal(j.RequiredClaims["role"], []string{"a", "b"}) {
		t.Errorf("claims: %v", j.RequiredClaims)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0].String(), "gatehouse.yaml:4: consumer \"alice\": plain api key") {
		t.Errorf("warnings: %v", c.Warnings)
	}
	if !strings.HasSuffix(c.DataDir, "/.gatehouse") {
		t.Errorf("data_dir %q", c.DataDir)
	}
}

func TestValidateTraffic(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"no limit", secBase + "      rate_limit: {fail: open}\n", `gatehouse.yaml:7: route "r": rate_limit sets no limit (e.g. rate_limit: {limit: 100, window: 1s})`},
		{"fail mode", secBase + "      rate_limit: {limit: 10, window: 1s, fail: opne}\n", `gatehouse.yaml:7: route "r": unknown rate_limit fail mode "opne" (did you mean "open"?)`},
		{"bad key", secBase + "      rate_limit: {limit: 10, window: 1s, key: \"consumer+header\"}\n",
			`gatehouse.yaml:7: route "r": invalid limit key "header" (header:NAME, claim:NAME and query:NAME take a name; the others do not)`},
		{"burst sliding", secBase + "      rate_limit: {limit: 10, window: 1s, burst: 5, algorithm: sliding_window}\n",
			`gatehouse.yaml:7: route "r": burst applies to gcra only (use algorithm: gcra for bursts)`},
		{"limit too large", secBase + "      rate_limit: {limit: 9007199254740993, window: 1s}\n", `gatehouse.yaml:7: route "r": rate limit needs 1 ≤ limit ≤ 2^53 (e.g. limit: 100, window: 1s)`},
		{"quota period", secBase + "      quota: {limit: 10, period: week}\n", `gatehouse.yaml:7: route "r": unknown quota period "week" (use one of day, month, rolling)`},
		{"cache heuristic", secBase + "      cache:\n        heuristic_percent: 101\n",
			`gatehouse.yaml:8: route "r": cache heuristic_percent 101 is not between 0 and 100 (e.g. heuristic_percent: 10)`},
		{"cache field", secBase + "      cache:\n        cache_control_field: \"a b\"\n",
			`gatehouse.yaml:8: route "r": cache_control_field "a b" is not a header name (e.g. cache_control_field: Gatehouse-Cache-Control)`},
		{"unknown plan", "plans:\n  - {name: gold, quota: {limit: 5}}\nconsumers:\n  - {name: a, plan: glod}\n" + secBase + "      quota: {use_plan: true}\n",
			`gatehouse.yaml:4: consumer "a": plan "glod" not found (did you mean "gold"?)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.src, c.want) })
	}
	c := mustParse(t, secBase+"      rate_limit:\n        limit: 100\n        window: 10s\n        limits: [{limit: 5, window: 1s, burst: 10, key: consumer}]\n      cache: {ttl: 1m}\n")
	rl := c.Routes[0].Policies.RateLimit
	if rl.Fail != "local" || !rl.Headers || rl.Algorithm != "sliding_window" || rl.Key != "client_ip" || rl.Limits[0].Algorithm != "gcra" || rl.Limits[0].Cost != 1 {
		t.Errorf("rate limit defaults: %+v %+v", rl, rl.Limits[0])
	}
	if ch := c.Routes[0].Policies.Cache; len(ch.Methods) != 2 || ch.MaxBodyBytes != 1<<20 {
		t.Errorf("cache defaults: %+v", ch)
	}
}
