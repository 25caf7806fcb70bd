package authz

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
)

func mustNew(t testing.TB, cfg Config) *Authz {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func claims(t testing.TB, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestNewRefuses(t *testing.T) {
	cases := map[string]Config{
		"empty group":        {AnyGroups: []string{""}},
		"empty all group":    {AllGroups: []string{"a", ""}},
		"scope with space":   {AnyScopes: []string{"read write"}},
		"scope with quote":   {AllScopes: []string{`a"b`}},
		"scope backslash":    {AllScopes: []string{`a\b`}},
		"empty claim name":   {Claims: map[string][]string{"": {"x"}}},
		"claim no values":    {Claims: map[string][]string{"tenant": nil}},
		"empty consumer":     {Consumers: []string{""}},
		"empty consumer set": {Consumers: []string{}},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNilIdentityIs401(t *testing.T) {
	err := mustNew(t, Config{}).Check(nil)
	var e *identity.Error
	if !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
		t.Fatalf("got %v", err)
	}
}

func TestEmptyConfigAdmitsAnyIdentity(t *testing.T) {
	if err := mustNew(t, Config{}).Check(&identity.Identity{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	alice := &identity.Identity{
		Method:   "jwt",
		Subject:  "alice",
		Consumer: &identity.Consumer{Name: "web"},
		Groups:   []string{"staff", "eng"},
		Scopes:   []string{"read", "write"},
		Claims: claims(t, `{"tenant":"acme","roles":["viewer","editor"],"email_verified":true,
			"level":3,"realm_access":{"roles":["admin"]},"org.id":"flat"}`),
	}
	bob := &identity.Identity{Method: "jwt", Subject: "web", Groups: []string{"guest"}, Scopes: []string{"read"}}
	cases := []struct {
		name      string
		cfg       Config
		id        *identity.Identity
		allowed   bool
		challenge string // on a 403
	}{
		{"any group hit", Config{AnyGroups: []string{"ops", "eng"}}, alice, true, ""},
		{"any group miss", Config{AnyGroups: []string{"ops", "admin"}}, alice, false, ""},
		{"all groups hit", Config{AllGroups: []string{"staff", "eng"}}, alice, true, ""},
		{"all groups one missing", Config{AllGroups: []string{"staff", "ops"}}, alice, false, ""},
		{"any scope hit", Config{AnyScopes: []string{"admin", "write"}}, alice, true, ""},
		{"any scope miss", Config{AnyScopes: []string{"admin", "delete"}}, alice, false, `Bearer error="insufficient_scope", scope="admin delete"`},
		{"all scopes hit", Config{AllScopes: []string{"read", "write"}}, alice, true, ""},
		{"all scopes miss", Config{AllScopes: []string{"read", "write"}}, bob, false, `Bearer error="insufficient_scope", scope="read write"`},
		{"all and any scopes, all fails", Config{AllScopes: []string{"write"}, AnyScopes: []string{"x"}}, bob, false, `Bearer error="insufficient_scope", scope="write"`},
		{"string claim", Config{Claims: map[string][]string{"tenant": {"other", "acme"}}}, alice, true, ""},
		{"string claim wrong", Config{Claims: map[string][]string{"tenant": {"other"}}}, alice, false, ""},
		{"array claim", Config{Claims: map[string][]string{"roles": {"editor"}}}, alice, true, ""},
		{"array claim miss", Config{Claims: map[string][]string{"roles": {"owner"}}}, alice, false, ""},
		{"bool claim", Config{Claims: map[string][]string{"email_verified": {"true"}}}, alice, true, ""},
		{"number claim", Config{Claims: map[string][]string{"level": {"3"}}}, alice, true, ""},
		{"number claim miss", Config{Claims: map[string][]string{"level": {"3.5"}}}, alice, false, ""},
		{"nested claim", Config{Claims: map[string][]string{"realm_access.roles": {"admin"}}}, alice, true, ""},
		{"dotted flat claim first", Config{Claims: map[string][]string{"org.id": {"flat"}}}, alice, true, ""},
		{"object claim never matches", Config{Claims: map[string][]string{"realm_access": {"admin"}}}, alice, false, ""},
		{"absent claim", Config{Claims: map[string][]string{"tenant": {"acme"}}}, bob, false, ""},
		{"several claims all needed", Config{Claims: map[string][]string{"tenant": {"acme"}, "roles": {"owner"}}}, alice, false, ""},
		{"consumer listed", Config{Consumers: []string{"web"}}, alice, true, ""},
		{"consumer not listed", Config{Consumers: []string{"mobile"}}, alice, false, ""},
		// bob's subject equals a consumer name but he has no consumer.
		{"subject is not a consumer", Config{Consumers: []string{"web"}}, bob, false, ""},
		{"every requirement must hold", Config{AnyGroups: []string{"eng"}, AllScopes: []string{"admin"}}, alice, false, `Bearer error="insufficient_scope", scope="admin"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := mustNew(t, c.cfg).Check(c.id)
			if c.allowed {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var e *identity.Error
			if !errors.As(err, &e) || e.Status != http.StatusForbidden {
				t.Fatalf("want 403 *identity.Error, got %v", err)
			}
			if e.Challenge != c.challenge {
				t.Fatalf("challenge %q, want %q", e.Challenge, c.challenge)
			}
			if e.Detail == "" || e.Err == nil {
				t.Fatalf("detail %q err %v", e.Detail, e.Err)
			}
		})
	}
}

func TestStringSliceClaim(t *testing.T) {
	a := mustNew(t, Config{Claims: map[string][]string{"aud": {"api"}}})
	if err := a.Check(&identity.Identity{Claims: map[string]any{"aud": []string{"web", "api"}}}); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(&identity.Identity{Claims: map[string]any{"aud": []any{map[string]any{}, nil, 1.0}}}); err == nil {
		t.Fatal("non-scalar array elements matched")
	}
}

// The client-facing detail must not name the missing value; the log does.
func TestDetailDoesNotLeakValues(t *testing.T) {
	err := mustNew(t, Config{AllGroups: []string{"secret-admins"}}).Check(&identity.Identity{})
	var e *identity.Error
	errors.As(err, &e)
	if strings.Contains(e.Detail, "secret-admins") || !strings.Contains(e.Err.Error(), "secret-admins") {
		t.Fatalf("detail %q err %v", e.Detail, e.Err)
	}
}

func BenchmarkCheck(b *testing.B) {
	a := mustNew(b, Config{
		AnyGroups: []string{"ops", "eng"},
		AllScopes: []string{"read", "write"},
		Claims:    map[string][]string{"tenant": {"acme"}, "roles": {"editor"}, "level": {"3"}},
		Consumers: []string{"web", "mobile"},
	})
	id := &identity.Identity{
		Subject:  "alice",
		Consumer: &identity.Consumer{Name: "web"},
		Groups:   []string{"staff", "eng"},
		Scopes:   []string{"read", "write"},
		Claims:   claims(b, `{"tenant":"acme","roles":["viewer","editor"],"level":3}`),
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := a.Check(id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheckRefused(b *testing.B) {
	a := mustNew(b, Config{AllScopes: []string{"admin"}})
	id := &identity.Identity{Scopes: []string{"read"}}
	b.ReportAllocs()
	for b.Loop() {
		if a.Check(id) == nil {
			b.Fatal("allowed")
		}
	}
}
