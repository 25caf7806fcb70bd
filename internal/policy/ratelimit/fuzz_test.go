package ratelimit

import (
	"github.com/gatehouse/gatehouse/internal/query"
	"net/url"
	"testing"
)

func parseQuery(raw string) (url.Values, error) { return url.ParseQuery(raw) }

// FuzzQueryValue: the allocation-light parser agrees with net/url.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"a=1&a=2", "a;b=1&a=4", "%61=5", "a=%zz&a=3", "&&a"} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		got, ok := query.Value(raw, name)
		vs, _ := url.ParseQuery(raw)
		want, wantOK := "", false
		if v, has := vs[name]; has {
			want, wantOK = v[0], true
		}
		if got != want || ok != wantOK {
			t.Fatalf("query.Value(%q, %q) = %q %v, want %q %v", raw, name, got, ok, want, wantOK)
		}
	})
}

// FuzzKeyInjective: two requests get the same key only when their part
// values are the same (up to SHA-256 collisions of long values), and a
// complete key never equals a fallback key.
func FuzzKeyInjective(f *testing.F) {
	f.Add("a:b", "c", "a", "b:c")
	f.Add("", "x", "192.0.2.1", "")
	f.Add("%3A", "", ":", "")
	k, err := NewKeyer([]KeyPart{{Kind: KindHeader, Name: "X-A"}, {Kind: KindHeader, Name: "X-B"}})
	if err != nil {
		f.Fatal(err)
	}
	key := func(a, b string) (string, bool) {
		r := request("192.0.2.1", nil)
		r.Header.Set("X-A", a)
		r.Header.Set("X-B", b)
		return k.Key(r), a != "" && b != ""
	}
	f.Fuzz(func(t *testing.T, a1, b1, a2, b2 string) {
		for _, s := range []string{a1, b1, a2, b2} {
			if !validHeaderValue(s) {
				return
			}
		}
		k1, full1 := key(a1, b1)
		k2, full2 := key(a2, b2)
		same := a1 == a2 && b1 == b2
		if full1 && full2 && (k1 == k2) != same {
			t.Fatalf("(%q,%q) → %q, (%q,%q) → %q", a1, b1, k1, a2, b2, k2)
		}
		if full1 != full2 && k1 == k2 {
			t.Fatalf("complete and fallback keys meet: %q", k1)
		}
		if len(k1) > 2*(maxValueLen+1)+1 {
			t.Fatalf("key of %d bytes", len(k1))
		}
	})
}

// validHeaderValue keeps values a real request could carry unchanged
// (Header.Set does not clean them; the wire would have refused them).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
