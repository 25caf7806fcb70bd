package config

import (
	"testing"
)

func TestExpandEnv(t *testing.T) {
	setEnv(t, map[string]string{"HOST": "example.com", "EMPTY": "", "PORT": "8080", "REC": "${HOST}"})
	cases := []struct{ in, want, err string }{
		{"plain", "plain", ""},
		{"${HOST}", "example.com", ""},
		{"api.${HOST}:${PORT}", "api.example.com:8080", ""},
		{"${MISSING:-fallback}", "fallback", ""},
		{"${EMPTY:-fallback}", "fallback", ""}, // as in the shell, empty takes the default
		{"${HOST:-fallback}", "example.com", ""},
		{"${MISSING:-}", "", ""},
		{"${EMPTY}", "", ""},
		{"$$", "$", ""},
		{"${REC}", "${HOST}", ""}, // values are not expanded again
		{"$${HOST}", "${HOST}", ""},
		{"^/v1$", "^/v1$", ""}, // a lone $ is literal, so regexes need no escaping
		{"a$b", "a$b", ""},
		{"$", "$", ""},
		{"${MISSING}", "", "environment variable MISSING is not set"},
		{"${HOST", "", "unterminated ${ in value"},
		{"${}", "", `invalid environment variable name "" in ${}`},
		{"${1A}", "", `invalid environment variable name "1A" in ${1A}`},
		{"${A-B}", "", `invalid environment variable name "A-B" in ${A-B}`},
	}
	for _, c := range cases {
		got, err := expandEnv(c.in)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("expandEnv(%q) error = %v, want %q", c.in, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("expandEnv(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestEnvInConfig(t *testing.T) {
	setEnv(t, map[string]string{"PORT": "9090", "WATCH": "false", "GC": "200"})
	c := mustParse(t, `listeners:
  - name: public
    address: 127.0.0.1:${PORT}
    max_header_bytes: ${MHB:-1MiB}
reload: {watch: "${WATCH}"}
runtime:
  gc_percent: ${GC}
upstreams:
  - name: u
    targets: [{url: "http://${TARGET_HOST:-localhost}:1"}]
routes:
  - name: r
    match: {path: {regex: "^/price/[0-9]+$"}}
    respond: {body: "costs $$5", headers: {X-Env: "${PORT}"}}
`)
	l := c.Listeners[0]
	if l.Address != "127.0.0.1:9090" || l.MaxHeaderBytes != 1<<20 {
		t.Errorf("listener = %+v", l)
	}
	if c.Reload.Watch || c.Runtime.GCPercent != 200 {
		t.Errorf("watch=%v gc=%d: substitution must happen before type conversion", c.Reload.Watch, c.Runtime.GCPercent)
	}
	if u := c.Upstreams[0].Targets[0].URL; u != "http://localhost:1" {
		t.Errorf("target = %q", u)
	}
	r := c.Routes[0]
	if r.Match.Path.Regex != "^/price/[0-9]+$" || r.Respond.Body != "costs $5" || r.Respond.Headers["X-Env"] != "9090" {
		t.Errorf("route = %+v %+v", r.Match.Path, r.Respond)
	}
}

func TestEnvErrorsHaveLines(t *testing.T) {
	setEnv(t, map[string]string{})
	wantErr(t, "listeners:\n  - name: public\n    address: :${PORT}\n",
		`gatehouse.yaml:3: listener "public": address: environment variable PORT is not set (set it, or give a default with ${PORT:-value})`)
	wantErr(t, minimal+"log: {level: \"${LEVEL\"}\n",
		`gatehouse.yaml:4: log: level: unterminated ${ in value (close it with }, or write $$ for a literal $)`)
}

func TestEnvNotInKeys(t *testing.T) {
	// Keys are schema, not data: substituting them would hide typos.
	setEnv(t, map[string]string{"K": "level"})
	wantErr(t, minimal+"log: {\"${K}\": info}\n", `gatehouse.yaml:4: unknown key "${K}" in log`)
}
