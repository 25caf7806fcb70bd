package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/compose"
)

const composeBase = "listeners: [{name: public, address: \"127.0.0.1:8080\"}]\n" +
	"upstreams:\n" +
	"  - {name: users, targets: [{url: \"http://127.0.0.1:9000\"}]}\n" +
	"  - {name: db, targets: [{url: \"tcp://127.0.0.1:5432\"}]}\n" +
	"routes:\n  - name: r\n    compose:\n"

func TestValidateCompose(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"no steps", "      merge: group\n", `gatehouse.yaml:7: route "r": compose has no steps (add steps: [{name: NAME, upstream: UPSTREAM, url: /path}])`},
		{"bad merge", "      merge: mrege\n      steps: [{name: a, upstream: users}]\n", `gatehouse.yaml:8: route "r": unknown compose merge "mrege" (did you mean "merge"?)`},
		{"dup name", "      steps:\n        - {name: a, upstream: users}\n        - {name: a, upstream: users}\n",
			`gatehouse.yaml:10: route "r": compose step "a" is defined twice (first defined at gatehouse.yaml:9; step names must be unique)`},
		{"bad name", "      steps:\n        - {name: A-b, upstream: users}\n",
			`gatehouse.yaml:9: route "r": invalid compose step name "A-b" (use lower-case letters, digits or '_' (templates refer to it as steps.NAME))`},
		{"both upstream and path", "      steps:\n        - {name: a, upstream: users, path: /x}\n",
			`gatehouse.yaml:9: route "r": compose step "a" needs exactly one of upstream or path (give upstream: NAME (with url: /path) to call an upstream, or path: /route-path to call a route of this gateway)`},
		{"unknown upstream", "      steps:\n        - {name: a, upstream: user}\n", `gatehouse.yaml:9: route "r": upstream "user" not found (did you mean "users"?)`},
		{"l4 upstream", "      steps:\n        - {name: a, upstream: db}\n",
			`gatehouse.yaml:9: route "r": compose step "a" upstream "db" has tcp target tcp://127.0.0.1:5432 (compose calls upstreams with http:// or https:// targets)`},
		{"unknown need", "      steps:\n        - {name: a, upstream: users, needs: [bb]}\n        - {name: b, upstream: users}\n",
			`gatehouse.yaml:9: route "r": compose step "a" needs unknown step "bb" (did you mean "b"?)`},
		{"cycle", "      steps:\n        - {name: a, upstream: users, needs: [c]}\n        - {name: b, upstream: users, needs: [a]}\n        - name: c\n          upstream: users\n          needs: [b]\n",
			`gatehouse.yaml:10: route "r": compose needs cycle: a → c → b → a (remove one of these needs)`},
		{"ref without needs", "      steps:\n        - {name: a, upstream: users}\n        - name: b\n          upstream: users\n          url: /x/${steps.a.id}\n",
			`gatehouse.yaml:12: route "r": compose step "b" url uses steps.a.id but does not need step "a" (add needs: [a])`},
		{"ref unknown step", "      steps:\n        - name: b\n          upstream: users\n          headers: {X-A: \"${steps.zz}\"}\n",
			`gatehouse.yaml:11: route "r": compose step "b" header X-A uses steps.zz: there is no step "zz" (name a step of this composition)`},
		{"item outside for_each", "      steps:\n        - name: b\n          upstream: users\n          body: {id: \"${item.id}\"}\n",
			`gatehouse.yaml:11: route "r": compose step "b" body uses item.id outside for_each (item is the current element of for_each: add for_each, or use steps.STEP)`},
		{"bad template", "      steps:\n        - name: b\n          path: /x/${nope}\n",
			`gatehouse.yaml:10: route "r": compose step "b" path: at offset 3: unknown variable "nope" (variables: method, scheme, host, path, route, request_id, client_ip, header.NAME, query.NAME, param.NAME, consumer.name, consumer.plan, consumer.metadata.KEY, jwt.CLAIM, time.unix, time.unix_ms, time.rfc3339, status, response_header.NAME, steps.STEP, item) (see the variables in the message; write $${ for a literal ${)`},
		{"for_each template", "      steps:\n        - {name: a, upstream: users}\n        - {name: b, upstream: users, needs: [a], for_each: \"${steps.a.ids}\"}\n",
			`gatehouse.yaml:10: route "r": compose step "b" for_each "${steps.a.ids}" is a template (write the variable without ${}, e.g. for_each: steps.user.order_ids)`},
		{"for_each without needs", "      steps:\n        - {name: a, upstream: users}\n        - {name: b, upstream: users, for_each: steps.a.ids}\n",
			`gatehouse.yaml:10: route "r": compose step "b" for_each uses steps.a.ids but does not need step "a" (add needs: [a])`},
		{"default without value", "      steps:\n        - {name: a, upstream: users, on_error: default}\n",
			`gatehouse.yaml:9: route "r": compose step "a" has on_error: default but no default (add default: VALUE (the result used when the step fails))`},
		{"value without default", "      steps:\n        - {name: a, upstream: users, default: {x: 1}}\n",
			`gatehouse.yaml:9: route "r": compose step "a" has a default but on_error is not default (add on_error: default, or remove default)`},
		{"bad on_error", "      steps:\n        - {name: a, upstream: users, on_error: omitt}\n", `gatehouse.yaml:9: route "r": unknown on_error "omitt" (did you mean "omit"?)`},
		{"concurrency", "      steps:\n        - {name: a, upstream: users, for_each: query.x, concurrency: 65}\n",
			`gatehouse.yaml:9: route "r": compose step "a" concurrency 65 is out of range (use 1 to 64 (default 8))`},
		{"max_items without for_each", "      steps:\n        - {name: a, upstream: users, max_items: 5}\n",
			`gatehouse.yaml:9: route "r": compose step "a" has concurrency or max_items without for_each (add for_each: steps.STEP.ARRAY, or remove them)`},
		{"empty when", "      steps:\n        - {name: a, upstream: users, when: \" \"}\n", `gatehouse.yaml:9: route "r": compose step "a" has an empty when (write a CEL condition, or remove when)`},
		{"group collision", "      steps:\n        - {name: a, upstream: users, group: x}\n        - {name: x, upstream: users}\n",
			`gatehouse.yaml:10: route "r": key collision: steps a and x both write x (step "a" is at gatehouse.yaml:9; rename with mapping or group)`},
		{"merge collision", "      merge: merge\n      steps:\n        - {name: a, upstream: users, allow: [user.name, id]}\n        - {name: b, upstream: users, allow: [name], mapping: {name: user}}\n",
			`gatehouse.yaml:11: route "r": key collision: steps a and b both write user (step "a" is at gatehouse.yaml:10; rename with mapping or group)`},
		{"merge undeclared", "      merge: merge\n      steps:\n        - {name: a, upstream: users}\n",
			`gatehouse.yaml:10: route "r": compose step "a" does not declare its keys, which merge: merge needs to rule out collisions (add allow: [KEYS] (the keys it contributes) or group: KEY)`},
		{"bad allow path", "      steps:\n        - {name: a, upstream: users, allow: [a..b]}\n", `gatehouse.yaml:9: route "r": compose step "a" allow has invalid path "a..b" (use keys separated by dots, such as address.city)`},
		{"with backend", "      steps: [{name: a, upstream: users}]\n    backend: {upstream: users}\n", `gatehouse.yaml:6: route "r": route has both backend and compose (keep exactly one of backend, respond, redirect or compose)`},
		{"body number", "      steps:\n        - {name: a, upstream: users, body: {n: .inf}}\n", `gatehouse.yaml:9: route "r": body.n: invalid number ".inf" (use a finite JSON number)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, composeBase+c.body, c.want) })
	}
	if len(parseErrs(t, composeBase+"      steps:\n"+func() string {
		s := ""
		for i := range compose.MaxSteps + 1 {
			s += fmt.Sprintf("        - {name: s%d, upstream: users}\n", i)
		}
		return s
	}())) != 1 {
		t.Error("33 steps: want one error")
	}
}

func TestParseCompose(t *testing.T) {
	c := mustParse(t, composeBase+`      merge: merge
      max_body_bytes: 64KiB
      steps:
        - name: user
          upstream: users
          url: /users/${header.x-id}
          method: get
          headers: {X-Tenant: "${header.x-tenant}"}
          forward_headers: [Authorization]
          allow: [id, name]
          timeout: 500ms
        - name: orders
          path: /orders
          needs: [user]
          for_each: steps.user.ids
          concurrency: 4
          max_items: 10
          body: {user: "${steps.user.id}", n: 1, tags: [a, true, null], f: 1.5}
          on_error: default
          default: {orders: []}
          when: 'header["x"] == "1"'
          group: orders
`)
	r := c.Routes[0]
	if r.Timeout != compose.DefaultTimeout {
		t.Errorf("timeout %v", r.Timeout)
	}
	cc := r.Compose
	if cc.MaxBodyBytes != 64<<10 || len(cc.Steps) != 2 || cc.Steps[0].Method != "GET" || cc.Steps[0].Timeout != 500*time.Millisecond {
		t.Fatalf("%+v %+v", cc, cc.Steps[0])
	}
	o := cc.Steps[1]
	if got := fmt.Sprint(o.Body); got != "map[f:1.5 n:1 tags:[a true <nil>] user:${steps.user.id}]" {
		t.Errorf("body %s", got)
	}
	if got := fmt.Sprint(o.Default); got != "map[orders:[]]" {
		t.Errorf("default %s", got)
	}
}

// In compose steps ${lower.case} is a request template variable, kept for
// expr; ${UPPER} is still an environment variable, and $${ stays the
// template's escape.
func TestComposeTemplatesAndEnv(t *testing.T) {
	setEnv(t, map[string]string{"TENANT": "acme", "ODD": "${x}"})
	c := mustParse(t, composeBase+"      steps:\n        - name: a\n          upstream: users\n          url: /t/${TENANT}/${header.x-id}/$${lit}/${ODD}\n          body: {t: \"${TENANT}-${client_ip}\"}\n")
	s := c.Routes[0].Compose.Steps[0]
	if s.URL != "/t/acme/${header.x-id}/$${lit}/$${x}" || fmt.Sprint(s.Body) != "map[t:acme-${client_ip}]" {
		t.Fatalf("url %q body %v", s.URL, s.Body)
	}
	wantErr(t, composeBase+"      steps:\n        - name: a\n          upstream: users\n          url: /t/${NOPE}\n",
		`gatehouse.yaml:11: route "r": url: environment variable NOPE is not set (set it, or give a default with ${NOPE:-value})`)
}

// FuzzExpandEnvTemplate: no input panics, and a string without "${" is
// returned unchanged.
func FuzzExpandEnvTemplate(f *testing.F) {
	for _, s := range []string{"/u/${param.id}", "${TENANT}", "$${x}", "${", "${A:-${b}}", "$$${X}", "${_A}${}", "a}b${c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := expandEnvTemplate(s)
		if err == nil && !strings.Contains(s, "${") && out != s {
			t.Fatalf("%q became %q", s, out)
		}
	})
}
