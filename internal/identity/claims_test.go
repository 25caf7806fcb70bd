package identity

import (
	"encoding/json"
	"testing"
)

func TestClaims(t *testing.T) {
	var claims map[string]any
	if err := json.Unmarshal([]byte(`{"sub":"alice","level":3,"admin":true,"roles":["a","b"],
		"realm_access":{"roles":["ops"]},"org.id":"flat","obj":{"x":1},"nil":null}`), &claims); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"sub": true, "realm_access.roles": true, "org.id": true, "realm_access.x": false, "sub.x": false, "missing": false} {
		if _, ok := LookupClaim(claims, name); ok != want {
			t.Errorf("LookupClaim(%q) found = %v", name, ok)
		}
	}
	for _, c := range []struct {
		name string
		want []string
		ok   bool
	}{
		{"sub", []string{"bob", "alice"}, true},
		{"level", []string{"3"}, true},
		{"admin", []string{"true"}, true},
		{"roles", []string{"b"}, true},
		{"realm_access.roles", []string{"ops"}, true},
		{"roles", []string{"c"}, false},
		{"obj", []string{`{"x":1}`}, false},
		{"nil", []string{"null", ""}, false},
	} {
		v, _ := LookupClaim(claims, c.name)
		if ClaimMatches(v, c.want) != c.ok {
			t.Errorf("ClaimMatches(%s, %q) = %v", c.name, c.want, !c.ok)
		}
	}
	if s, ok := ClaimString(float64(1.5)); !ok || s != "1.5" {
		t.Errorf("ClaimString(1.5) = %q, %v", s, ok)
	}
	if _, ok := ClaimString([]any{"a"}); ok {
		t.Error("ClaimString accepted an array")
	}
	if n := testing.AllocsPerRun(100, func() { ClaimMatches(claims["level"], []string{"3"}) }); n != 0 {
		t.Errorf("ClaimMatches allocates %v times", n)
	}
}
