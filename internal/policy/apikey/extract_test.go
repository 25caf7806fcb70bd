package apikey

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/policy/credential"
	"github.com/gatehouse/gatehouse/internal/query"
)

func TestQueryValue(t *testing.T) {
	for _, c := range []struct {
		raw, want string
		ok        bool
	}{
		{"", "", false},
		{"k=v", "v", true},
		{"a=1&k=v&k=w", "v", true},
		{"k", "", true},
		{"k=a+b%21", "a b!", true},
		{"k=%zz&k=ok", "ok", true},
		{"k=x;y&k=z", "z", true},
		{"%6B=enc", "enc", true},
		{"kk=v", "", false},
	} {
		got, ok := query.Value(c.raw, "k")
		if got != c.want || ok != c.ok {
			t.Errorf("query.Value(%q) = %q, %v; want %q, %v", c.raw, got, ok, c.want, c.ok)
		}
	}
}

// FuzzQueryValue checks queryValue against url.ParseQuery, and
// removeQuery's promises: no copy of the parameter survives and every
// other pair does.
func FuzzQueryValue(f *testing.F) {
	for _, s := range []string{"k=v", "a=1&k=v&k=w", "k=%zz&k=ok", "k=x;y", "%6B=enc&&=", "k+=1"} {
		f.Add(s, "k")
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		got, ok := query.Value(raw, name)
		vals, _ := url.ParseQuery(raw)
		want, wantOK := "", false
		if vs := vals[name]; len(vs) > 0 {
			want, wantOK = vs[0], true
		}
		if got != want || ok != wantOK {
			t.Fatalf("query.Value(%q, %q) = %q, %v; ParseQuery says %q, %v", raw, name, got, ok, want, wantOK)
		}
		rest := credential.RemoveQuery(raw, name)
		if _, ok := query.Value(rest, name); ok {
			t.Fatalf("removeQuery(%q, %q) = %q still has the parameter", raw, name, rest)
		}
		after, _ := url.ParseQuery(rest)
		for k, vs := range vals {
			if k != name && strings.Join(after[k], "\x00") != strings.Join(vs, "\x00") {
				t.Fatalf("removeQuery(%q, %q) = %q changed %q", raw, name, rest, k)
			}
		}
	})
}

// FuzzAuthenticate feeds arbitrary header, query and cookie values: it
// must never panic, never accept anything but the configured key, and
// always answer with ErrNoCredentials or a 401.
func FuzzAuthenticate(f *testing.F) {
	a, err := New(Config{
		Header: "X-Api-Key", Query: "api_key", Cookie: "k",
		Static:          map[[32]byte]string{hashKey(staticKeyText): "alice"},
		Consumers:       consumers,
		HideCredentials: true,
	})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", staticKeyText, "gh_x", strings.Repeat("a", 300), "\x00", "k=v; k=w"} {
		f.Add(s, s, s)
	}
	f.Add("", "a=1&api_key="+staticKeyText, "")
	f.Add("", "", "x=1; k="+staticKeyText+"; k=2")
	f.Fuzz(func(t *testing.T, header, rawQuery, cookie string) {
		r := &http.Request{Method: "GET", URL: &url.URL{Path: "/", RawQuery: rawQuery}, Header: http.Header{}}
		r.Header.Set("X-Api-Key", header)
		r.Header.Set("Cookie", cookie)
		key, from := a.extract(r)
		id, err := a.Authenticate(r)
		switch {
		case err == nil:
			if key != staticKeyText || id.Subject != "alice" {
				t.Fatalf("accepted key %q as %+v", key, id)
			}
			if _, ok := r.Header["X-Api-Key"]; ok && from == fromHeader {
				t.Fatal("header key not hidden")
			}
			if _, ok := query.Value(r.URL.RawQuery, "api_key"); ok && from == fromQuery {
				t.Fatal("query key not hidden")
			}
			if _, err := r.Cookie("k"); err == nil && from == fromCookie {
				t.Fatalf("cookie key not hidden: %q", r.Header["Cookie"])
			}
		case err.Error() == "no credentials":
			if from != fromNone {
				t.Fatalf("key %q found but ErrNoCredentials", key)
			}
		default:
			wantStatus(t, err, 401)
		}
	})
}
