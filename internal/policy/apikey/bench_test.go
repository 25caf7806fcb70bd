package apikey

import (
	"context"
	"net/http/httptest"
	"testing"
)

func BenchmarkAuthenticateStatic(b *testing.B) {
	a := newAuth(b, Config{})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Api-Key", staticKeyText)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateBolt(b *testing.B) {
	st := openBolt(b)
	for range 1000 {
		st.Issue(context.Background(), "bob")
	}
	plain, _, err := st.Issue(context.Background(), "bob")
	if err != nil {
		b.Fatal(err)
	}
	a := newAuth(b, Config{Store: st})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Api-Key", plain)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuthenticateUnknown(b *testing.B) {
	a := newAuth(b, Config{})
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Api-Key", "gh_unknown_key_0123456789abcdefghijklmnopqrstu")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err == nil {
			b.Fatal("accepted")
		}
	}
}
