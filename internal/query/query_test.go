package query

import (
	"net/url"
	"testing"
)

func TestValueAgreesWithParseQuery(t *testing.T) {
	for _, raw := range []string{"", "a=1", "a=1&a=2", "b=2&a=%31", "a;x=1&a=2", "a=%zz&a=3", "a+b=1&a%20b=2", "x=1&a", "a=&a=1"} {
		for _, name := range []string{"a", "a b", "x"} {
			want := ""
			vs, _ := url.ParseQuery(raw)
			if v, ok := vs[name]; ok {
				want = v[0]
			}
			got, ok := Value(raw, name)
			if got != want || ok != (len(vs[name]) > 0) {
				t.Errorf("Value(%q, %q) = %q %v, ParseQuery says %q", raw, name, got, ok, want)
			}
		}
	}
}

func FuzzValue(f *testing.F) {
	f.Add("a=1&b=2", "a")
	f.Fuzz(func(t *testing.T, raw, name string) {
		vs, _ := url.ParseQuery(raw)
		got, ok := Value(raw, name)
		if ok != (len(vs[name]) > 0) || (ok && got != vs[name][0]) {
			t.Fatalf("Value(%q, %q) = %q %v, ParseQuery %q", raw, name, got, ok, vs[name])
		}
	})
}
