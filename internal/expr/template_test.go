package expr

import (
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

func testVars() *Vars {
	r := httptest.NewRequest("POST", "http://api.test/v1/users/42?tenant=acme", nil)
	r.Header.Set("X-Tenant", "t1")
	info := &reqinfo.Info{ClientIP: netip.MustParseAddr("192.0.2.7"), RequestID: "rid-1", Route: "users", Path: "/v1/users/42",
		Identity: &identity.Identity{Subject: "s", Consumer: &identity.Consumer{Name: "acme", Plan: "gold", Metadata: map[string]string{"tier": "2"}},
			Claims: map[string]any{"sub": "u-9", "org": map[string]any{"id": "o-1"}, "n": 3.0}}}
	info.Params.Add("id", "42")
	return &Vars{Req: r, Info: info, Now: time.Unix(1700000000, 0),
		Steps: map[string]any{"user": map[string]any{"id": "u-9", "ids": []any{"a", "b"}}}, Item: map[string]any{"id": 7.0}}
}

func TestTemplateRender(t *testing.T) {
	cases := map[string]string{
		"plain":                               "plain",
		"${client_ip}":                        "192.0.2.7",
		"id=${param.id};t=${header.x-tenant}": "id=42;t=t1",
		"${query.tenant}/${method}/${host}":   "acme/POST/api.test",
		"${consumer.name}:${consumer.plan}:${consumer.metadata.tier}": "acme:gold:2",
		"${jwt.sub} ${jwt.org.id} ${jwt.n} ${jwt.none}":               "u-9 o-1 3 ",
		"${time.unix} ${request_id} ${route} ${path}":                 "1700000000 rid-1 users /v1/users/42",
		"$${literal} costs $5":                                        "${literal} costs $5",
		"${steps.user.id}/${steps.user.ids.1}/${item.id}":             "u-9/b/7",
		"${steps.user.ids}":                                           `["a","b"]`,
	}
	for src, want := range cases {
		tpl, err := CompileTemplate(src, ScopeRequest|ScopeSteps)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if got := tpl.Render(testVars()); got != want {
			t.Errorf("%q: got %q want %q", src, got, want)
		}
	}
}

func TestTemplateErrors(t *testing.T) {
	cases := map[string]string{
		"${nope}":              `unknown variable "nope"`,
		"a ${client_ip":        "unclosed ${",
		"${}":                  "empty ${}",
		"${header}":            "header needs a name",
		"${status}":            "only response filters",
		"${steps.x}":           "only composition steps",
		"${response_header.x}": "only response filters",
	}
	for src, want := range cases {
		_, err := CompileTemplate(src, ScopeRequest)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
}

func TestTemplateValueKeepsType(t *testing.T) {
	v := testVars()
	if got := MustTemplate("${steps.user.ids}", ScopeSteps).Value(v); len(got.([]any)) != 2 {
		t.Fatalf("got %#v", got)
	}
	if got := MustTemplate("n=${jwt.n}", ScopeRequest).Value(v); got != "n=3" {
		t.Fatalf("got %#v", got)
	}
	if s, ok := MustTemplate("x", ScopeRequest).Literal(); !ok || s != "x" {
		t.Fatal("literal")
	}
}

func BenchmarkRender(b *testing.B) {
	for _, bc := range []struct{ name, src string }{
		{"literal", "gatehouse"},
		{"1var", "${request_id}"},
		{"3vars", "${client_ip}/${header.x-tenant}/${param.id}"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tpl := MustTemplate(bc.src, ScopeRequest)
			v := testVars()
			b.ReportAllocs()
			for b.Loop() {
				tpl.Render(v)
			}
		})
	}
}
