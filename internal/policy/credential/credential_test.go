package credential

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestAuthScheme(t *testing.T) {
	for _, c := range []struct {
		v, want string
		ok      bool
	}{
		{"Bearer abc", "abc", true},
		{"bearer  abc ", "abc", true},
		{"BEARER\tabc", "abc", true},
		{"Bearer", "", true},
		{"Bearerx abc", "", false},
		{"Basic abc", "", false},
		{"", "", false},
	} {
		got, ok := AuthScheme(c.v, "Bearer")
		if got != c.want || ok != c.ok {
			t.Errorf("AuthScheme(%q) = %q, %v; want %q, %v", c.v, got, ok, c.want, c.ok)
		}
	}
}

func TestRemoveQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"a=1&t=x&b=%20y": "a=1&b=%20y",
		"t=x&t=y":        "",
		"%74=x&a=1":      "a=1",
		"t&a=1;b&t=%zz":  "a=1;b",
		"tt=1&t%zz=2":    "tt=1&t%zz=2",
	} {
		if got := RemoveQuery(raw, "t"); got != want {
			t.Errorf("RemoveQuery(%q) = %q, want %q", raw, got, want)
		}
	}
}

// FuzzRemoveQuery checks RemoveQuery's promises: no copy of the
// parameter survives and every other pair does.
func FuzzRemoveQuery(f *testing.F) {
	for _, s := range []string{"k=v", "a=1&k=v&k=w", "k=%zz&k=ok", "k=x;y", "%6B=enc&&=", "k+=1"} {
		f.Add(s, "k")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		before, _ := url.ParseQuery(raw)
		rest := RemoveQuery(raw, name)
		after, _ := url.ParseQuery(rest)
		if _, ok := after[name]; ok {
			t.Fatalf("RemoveQuery(%q, %q) = %q still has the parameter", raw, name, rest)
		}
		for k, vs := range before {
			if k != name && strings.Join(after[k], "\x00") != strings.Join(vs, "\x00") {
				t.Fatalf("RemoveQuery(%q, %q) = %q changed %q", raw, name, rest, k)
			}
		}
	})
}

func TestRemoveCookie(t *testing.T) {
	h := http.Header{"Cookie": {"a=1; t=x; b=2", "t=y", " t =z;c=3"}}
	RemoveCookie(h, "t")
	if got := h["Cookie"]; len(got) != 2 || got[0] != "a=1; b=2" || got[1] != "c=3" {
		t.Fatalf("Cookie = %q", got)
	}
	h = http.Header{"Cookie": {"t=x"}}
	RemoveCookie(h, "t")
	if _, ok := h["Cookie"]; ok {
		t.Fatal("empty Cookie field kept")
	}
}

func TestChallenge(t *testing.T) {
	if got := Challenge("Bearer", ""); got != "Bearer" {
		t.Errorf("no realm: %q", got)
	}
	if got := InsufficientScope("Bearer", []string{"a", "b"}); got != `Bearer error="insufficient_scope", scope="a b"` {
		t.Errorf("bare scheme: %q", got)
	}
	if got := WithParam(Challenge("Basic", "api"), "charset", "UTF-8"); got != `Basic realm="api", charset="UTF-8"` {
		t.Errorf("with realm: %q", got)
	}
	for s, want := range map[string]bool{"api": true, `a"b`: false, `a\b`: false, "a\nb": false, "a\x7fb": false, "a b": true} {
		if Quotable(s) != want {
			t.Errorf("Quotable(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"read:all": true, "": false, "a b": false, `a"`: false, "é": false, "a\tb": false} {
		if ValidScope(s) != want {
			t.Errorf("ValidScope(%q) = %v", s, !want)
		}
	}
}

func TestReadAll(t *testing.T) {
	if b, err := ReadAll(strings.NewReader("12345"), 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	if _, err := ReadAll(strings.NewReader("123456"), 5); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestCache(t *testing.T) {
	t0 := time.Unix(0, 0)
	c := NewCache[int, string](16)
	c.Put(1, "one", t0.Add(time.Second), t0)
	if v, ok := c.Get(1, t0); !ok || v != "one" {
		t.Fatalf("Get = %q, %v", v, ok)
	}
	if _, ok := c.Get(1, t0.Add(time.Second)); ok || c.Len() != 0 {
		t.Fatal("expired entry returned or kept")
	}
	for i := range 1000 {
		c.Put(i, "v", t0.Add(time.Hour), t0)
		if c.Len() > 16 {
			t.Fatalf("cache grew to %d", c.Len())
		}
		if _, ok := c.Get(i, t0); !ok {
			t.Fatal("newest entry evicted")
		}
	}
	// Expired entries go first when the cache is full.
	c.Clear()
	for i := range 16 {
		c.Put(i, "v", t0.Add(time.Duration(i+1)*time.Second), t0)
	}
	c.Put(100, "v", t0.Add(time.Hour), t0.Add(5*time.Second))
	if c.Len() != 12 {
		t.Fatalf("after sweeping 5 expired entries and adding one: %d", c.Len())
	}
}
