package expr

import (
	"strings"
	"testing"
	"time"
)

// FuzzCompileTemplate: no source panics the compiler, and a compiled
// template renders against fixed variables without panicking; a template
// without variables renders its literal.
func FuzzCompileTemplate(f *testing.F) {
	for _, s := range []string{
		"", "plain", "${client_ip}", "a ${header.x-tenant} b", "$${x} $$ $", "${", "${}", "${ method }",
		"${jwt.org.id}${steps.user.ids.1}${item}", "${status}${response_header.server}", "${header.a:b}",
		"${query.q}&${param.id}", "${consumer.metadata.k}", "${time.unix}${time.rfc3339}", strings.Repeat("${method}", 70),
	} {
		f.Add(s)
	}
	v := testVars()
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := CompileTemplate(src, ScopeRequest|ScopeResponse|ScopeSteps)
		if err != nil {
			if tpl != nil {
				t.Fatal("template and error")
			}
			return
		}
		out := tpl.Render(v)
		tpl.Value(v)
		if lit, ok := tpl.Literal(); ok && lit != out {
			t.Fatalf("static %q renders %q, literal %q", src, out, lit)
		}
		if len(tpl.Names()) > maxVars {
			t.Fatalf("%d variables", len(tpl.Names()))
		}
	})
}

// FuzzCompileCondition: no source panics the compiler or an evaluation,
// and an evaluation ends within the cost limit's time.
func FuzzCompileCondition(f *testing.F) {
	for _, s := range []string{
		`method == "GET" && header["x-debug"] == "1"`, `status >= 500`, `jwt.sub.startsWith("a")`,
		`[1,2,3].all(x, [1,2,3].all(y, x + y > 0))`, `query.a.matches("^a+$")`, `size(header) > 0`,
		`now > timestamp("2020-01-01T00:00:00Z")`, `steps.a.b == item.c`, `1 / 0 == 1`, `)(`, `"a" + "b"`,
		`has(jwt.org) && jwt.org.id == "x"`, `consumer.metadata["k"] == "v"`, `response_header["a"] == "b" || param.id == "1"`,
		strings.Repeat("(", 100) + "true" + strings.Repeat(")", 100),
	} {
		f.Add(s)
	}
	v := testVars()
	v.Status = 500
	f.Fuzz(func(t *testing.T, src string) {
		c, err := CompileCondition(src, ScopeRequest|ScopeResponse|ScopeSteps)
		if err != nil {
			return
		}
		start := time.Now()
		c.Eval(v)
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%q took %v", src, d)
		}
	})
}
