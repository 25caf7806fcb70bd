package expr

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestConditionVariables(t *testing.T) {
	v := testVars()
	v.Req.Header.Set("X-Debug", "1")
	v.Req.Header.Add("X-Multi", "first")
	v.Req.Header.Add("X-Multi", "second")
	v.Status = 503
	v.RespHeader = http.Header{"Content-Type": {"application/json"}}
	cases := []string{
		`method == "POST"`,
		`scheme == "http"`,
		`host == "api.test"`,
		`path == "/v1/users/42"`,
		`route == "users"`,
		`request_id == "rid-1"`,
		`client_ip == "192.0.2.7"`,
		`header["x-tenant"] == "t1" && header["x-debug"] == "1"`,
		`header["x-multi"] == "first"`,
		`!("x-absent" in header)`,
		`query["tenant"] == "acme" && query.tenant == "acme"`,
		`param.id == "42"`,
		`consumer.name == "acme" && consumer.plan == "gold" && consumer.metadata.tier == "2"`,
		`jwt.sub == "u-9" && jwt.org.id == "o-1" && jwt.n == 3.0`,
		`now == timestamp("2023-11-14T22:13:20Z")`,
		`status >= 500 && status < 600`,
		`response_header["content-type"].startsWith("application/json")`,
		`steps.user.id == "u-9" && size(steps.user.ids) == 2`,
		`item.id == 7.0`,
	}
	for _, src := range cases {
		c, err := CompileCondition(src, ScopeRequest|ScopeResponse|ScopeSteps)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		if ok, err := c.Check(v); !ok || err != nil {
			t.Errorf("%s: got %v, %v; want true", src, ok, err)
		}
	}
	// The same conditions negated are false: a condition that always
	// held would pass above for the wrong reason.
	for _, src := range cases {
		c := mustCondition(t, "!("+src+")", ScopeRequest|ScopeResponse|ScopeSteps)
		if c.Eval(v) {
			t.Errorf("!(%s) holds", src)
		}
	}
}

func mustCondition(t testing.TB, src string, scope Scope) *Condition {
	t.Helper()
	c, err := CompileCondition(src, scope)
	if err != nil {
		t.Fatalf("%s: %v", src, err)
	}
	return c
}

func TestConditionNoIdentity(t *testing.T) {
	v := testVars()
	v.Info.Identity = nil
	for _, src := range []string{`consumer.name == ""`, `consumer.plan == ""`, `!("sub" in jwt)`, `size(consumer.metadata) == 0`} {
		if !mustCondition(t, src, ScopeRequest).Eval(v) {
			t.Errorf("%s: false", src)
		}
	}
}

func TestConditionCompileErrors(t *testing.T) {
	cases := []struct{ src, want string }{
		{`status == "x"`, `1:8: found no matching overload for '_==_' applied to '(int, string)'`},
		{`method`, `condition must be a bool, not string`},
		{`size(path)`, `condition must be a bool, not int`},
		{"method == \"GET\" &&\n  nope == 1", `2:3: undeclared reference to 'nope'`},
		{`method ==`, `1:10: Syntax error`},
		{`status >= 500`, `1:1: status has no value here: only response filters`},
		{`method == "GET" && response_header["x"] == "1"`, `1:20: response_header has no value here`},
		{`item.id == 1`, `item has no value here: only composition steps`},
		{`  `, `empty condition`},
		{strings.Repeat("a", 5000), `longer than`},
	}
	for _, c := range cases {
		_, err := CompileCondition(c.src, ScopeRequest)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.src, err, c.want)
		}
	}
}

func TestConditionRuntimeErrorIsFalse(t *testing.T) {
	v := testVars()
	c := mustCondition(t, `header["x-absent"] == "1"`, ScopeRequest)
	if c.Eval(v) {
		t.Fatal("missing key evaluated true")
	}
	if _, err := c.Check(v); err == nil || !strings.Contains(err.Error(), "no such key") {
		t.Fatalf("Check error %v", err)
	}
	if c.Errors() != 1 {
		t.Fatalf("errors counted %d, want 1", c.Errors())
	}
	// A negation of a failing condition is still false, not true.
	if mustCondition(t, `!(header["x-absent"] == "1")`, ScopeRequest).Eval(v) {
		t.Fatal("negated error evaluated true")
	}
	// A runtime type error on a dyn claim.
	if mustCondition(t, `jwt.sub > 3`, ScopeRequest).Eval(v) {
		t.Fatal("type error evaluated true")
	}
}

func TestConditionCostLimit(t *testing.T) {
	v := testVars()
	// Each level multiplies the work by 100: 10^8 steps, far above the limit.
	src := `[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,63,64,65,66,67,68,69,70,71,72,73,74,75,76,77,78,79,80,81,82,83,84,85,86,87,88,89,90,91,92,93,94,95,96,97,98,99]`
	src = src + `.all(a, ` + src + `.all(b, ` + src + `.all(c, ` + src + `.all(d, a + b + c + d >= 0))))`
	c := mustCondition(t, src, ScopeRequest)
	start := time.Now()
	ok, err := c.Check(v)
	if ok || err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("got %v, %v; want the cost limit", ok, err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("stopped after %v", d)
	}
	// A comprehension over the request's headers has no static bound on
	// work per element beyond the size hints, yet runs normally.
	if !mustCondition(t, `header.exists(k, k == "x-tenant")`, ScopeRequest).Eval(v) {
		t.Fatal("exists over headers false")
	}
}

func TestConditionLazy(t *testing.T) {
	// A condition on method never reads headers: a nil Header map would
	// make headerMap return an empty map, so prove laziness by counting
	// through a request whose header read would be observable.
	v := testVars()
	a := activation{v: v}
	c := mustCondition(t, `method == "POST"`, ScopeRequest)
	out, _, err := c.prg.Eval(&a)
	if err != nil || out.Value() != true {
		t.Fatalf("%v %v", out, err)
	}
	if a.header != nil {
		t.Fatal("header map built for a condition on method")
	}
	c = mustCondition(t, `header["x-tenant"] == "t1"`, ScopeRequest)
	if _, _, err := c.prg.Eval(&a); err != nil || a.header == nil {
		t.Fatal("header not resolved when asked for")
	}
	if a.header.full != nil {
		t.Fatal("the whole header map was built for a lookup")
	}
}

// The header map answers lookups from the http.Header and everything
// else from the built map, with the same results.
func TestConditionHeaderMap(t *testing.T) {
	v := testVars()
	v.Req.Header = http.Header{"X-Tenant": {"t1", "t2"}, "x-lower": {"l"}, "Empty": {}}
	for src, want := range map[string]bool{
		`header["x-tenant"] == "t1"`:                      true,
		`header["x-lower"] == "l"`:                        true,
		`"x-tenant" in header && !("X-Tenant" in header)`: true,
		`!("empty" in header)`:                            true,
		`size(header) == 2`:                               true,
		`header.exists(k, k == "x-lower")`:                true,
		`header == {"x-tenant": "t1", "x-lower": "l"}`:    true,
		`header["X-Tenant"] == "t1"`:                      false, // no such key: an error, false
	} {
		if got := mustCondition(t, src, ScopeRequest).Eval(v); got != want {
			t.Errorf("%s: %v, want %v", src, got, want)
		}
	}
}

func BenchmarkConditionEval(b *testing.B) {
	v := testVars()
	v.Req.Header.Set("X-Debug", "1")
	c := mustCondition(b, `method == "POST" && header["x-debug"] == "1"`, ScopeRequest)
	b.ReportAllocs()
	for b.Loop() {
		if !c.Eval(v) {
			b.Fatal("false")
		}
	}
}

func BenchmarkConditionEvalMethod(b *testing.B) {
	v := testVars()
	c := mustCondition(b, `method == "POST"`, ScopeRequest)
	b.ReportAllocs()
	for b.Loop() {
		if !c.Eval(v) {
			b.Fatal("false")
		}
	}
}
