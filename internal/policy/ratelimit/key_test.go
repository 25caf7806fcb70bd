package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"github.com/gatehouse/gatehouse/internal/query"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/identity"
)

func TestKeys(t *testing.T) {
	alice := consumer("alice")
	jwt := &identity.Identity{Method: "jwt", Subject: "u1", Claims: map[string]any{"tenant": "acme", "tier": float64(2), "admin": true, "groups": []any{"a"}}}
	keyed := &identity.Identity{Method: "api_key", Subject: "svc", Consumer: &identity.Consumer{Name: "svc"}}
	keyHash := sha256.Sum256([]byte("secret-key-1234567890"))
	long := strings.Repeat("x", 200)
	longSum := sha256.Sum256([]byte(long))
	cases := []struct {
		name  string
		parts []KeyPart
		ip    string
		id    *identity.Identity
		hdr   map[string]string
		query string
		want  string
	}{
		{"global", nil, "192.0.2.1", nil, nil, "", ""},
		{"ip", []KeyPart{{Kind: KindClientIP}}, "192.0.2.1", nil, nil, "", "192.0.2.1"},
		{"ipv6 escaped", []KeyPart{{Kind: KindClientIP}}, "2001:db8::1", nil, nil, "", "2001%3Adb8%3A%3A1"},
		{"ipv4-mapped", []KeyPart{{Kind: KindClientIP}}, "::ffff:192.0.2.1", nil, nil, "", "192.0.2.1"},
		{"consumer", []KeyPart{{Kind: KindConsumer}}, "192.0.2.1", alice, nil, "", "alice"},
		{"subject without consumer", []KeyPart{{Kind: KindConsumer}}, "192.0.2.1", jwt, nil, "", "u1"},
		{"anonymous falls back to ip", []KeyPart{{Kind: KindConsumer}}, "192.0.2.1", nil, nil, "", ":192.0.2.1"},
		{"header", []KeyPart{{Kind: KindHeader, Name: "x-tenant"}}, "192.0.2.1", nil, map[string]string{"X-Tenant": "t1"}, "", "t1"},
		{"header absent", []KeyPart{{Kind: KindHeader, Name: "X-Tenant"}}, "192.0.2.1", nil, nil, "", ":192.0.2.1"},
		{"header empty", []KeyPart{{Kind: KindHeader, Name: "X-Tenant"}}, "192.0.2.1", nil, map[string]string{"X-Tenant": ""}, "", ":192.0.2.1"},
		{"header escaped", []KeyPart{{Kind: KindHeader, Name: "X-Tenant"}}, "192.0.2.1", nil, map[string]string{"X-Tenant": "a:b%#"}, "", "a%3Ab%25%23"},
		{"long value hashed", []KeyPart{{Kind: KindHeader, Name: "X-Tenant"}}, "192.0.2.1", nil, map[string]string{"X-Tenant": long}, "", "#" + hex.EncodeToString(longSum[:16])},
		{"claim string", []KeyPart{{Kind: KindClaim, Name: "tenant"}}, "192.0.2.1", jwt, nil, "", "acme"},
		{"claim number", []KeyPart{{Kind: KindClaim, Name: "tier"}}, "192.0.2.1", jwt, nil, "", "2"},
		{"claim bool", []KeyPart{{Kind: KindClaim, Name: "admin"}}, "192.0.2.1", jwt, nil, "", "true"},
		{"claim structured", []KeyPart{{Kind: KindClaim, Name: "groups"}}, "192.0.2.1", jwt, nil, "", ":192.0.2.1"},
		{"claim absent", []KeyPart{{Kind: KindClaim, Name: "org"}}, "192.0.2.1", jwt, nil, "", ":192.0.2.1"},
		{"route", []KeyPart{{Kind: KindRoute}}, "192.0.2.1", nil, nil, "", "api"},
		{"query", []KeyPart{{Kind: KindQuery, Name: "app id"}}, "192.0.2.1", nil, nil, "x=1&app+id=a%3Ab&app+id=2", "a%3Ab"},
		{"query absent", []KeyPart{{Kind: KindQuery, Name: "app"}}, "192.0.2.1", nil, nil, "x=1", ":192.0.2.1"},
		{"api key hashed", []KeyPart{{Kind: KindAPIKey}}, "192.0.2.1", keyed, map[string]string{"X-Api-Key": "secret-key-1234567890"}, "", hex.EncodeToString(keyHash[:16])},
		{"api key custom header", []KeyPart{{Kind: KindAPIKey, Name: "apikey"}}, "192.0.2.1", nil, map[string]string{"Apikey": "secret-key-1234567890"}, "", hex.EncodeToString(keyHash[:16])},
		{"api key hidden", []KeyPart{{Kind: KindAPIKey}}, "192.0.2.1", keyed, nil, "", "c=svc"},
		{"api key absent", []KeyPart{{Kind: KindAPIKey}}, "192.0.2.1", alice, nil, "", ":192.0.2.1"},
		{"combination", []KeyPart{{Kind: KindConsumer}, {Kind: KindHeader, Name: "X-Tenant"}}, "192.0.2.1", alice, map[string]string{"X-Tenant": "t1"}, "", "alice:t1"},
		{"combination missing one", []KeyPart{{Kind: KindConsumer}, {Kind: KindHeader, Name: "X-Tenant"}}, "192.0.2.1", nil, map[string]string{"X-Tenant": "t1"}, "", ":192.0.2.1"},
		{"combination missing ip", []KeyPart{{Kind: KindClientIP}, {Kind: KindConsumer}}, "", alice, nil, "", "192.0.2.1:alice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k, err := NewKeyer(c.parts)
			if err != nil {
				t.Fatal(err)
			}
			r := request(c.ip, c.id)
			r.URL.RawQuery = c.query
			r.RemoteAddr = "192.0.2.1:1234" // used when the Info has no IP
			for h, v := range c.hdr {
				r.Header.Set(h, v)
			}
			if got := k.Key(r); got != c.want {
				t.Fatalf("key %q, want %q", got, c.want)
			}
		})
	}
}

// Outside a Gatehouse listener there is no Info: the IP is RemoteAddr's.
func TestKeyWithoutInfo(t *testing.T) {
	k, _ := NewKeyer([]KeyPart{{Kind: KindConsumer}})
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "[2001:db8::2]:443"
	if got := k.Key(r); got != ":2001%3Adb8%3A%3A2" {
		t.Fatal(got)
	}
	r.RemoteAddr = "garbage"
	if got := k.Key(r); got != ":unknown" {
		t.Fatal(got)
	}
}

// The raw API key never appears in the key (nor in the store).
func TestAPIKeyNotStored(t *testing.T) {
	k, _ := NewKeyer([]KeyPart{{Kind: KindAPIKey}})
	r := request("192.0.2.1", nil)
	r.Header.Set("X-Api-Key", "topsecretvalue")
	if strings.Contains(k.Key(r), "topsecret") {
		t.Fatal("raw key in the limit key")
	}
}

func TestKeyValue(t *testing.T) {
	if KeyValue("alice@example.com") != "alice@example.com" || KeyValue("a:b") != "a%3Ab" {
		t.Fatal("KeyValue")
	}
	// 43 × "%25" is 129 bytes, over the bound: hashed.
	if v := KeyValue(strings.Repeat("%", 43)); len(v) != 33 || !strings.HasPrefix(v, "#") {
		t.Fatalf("not hashed: %q", v)
	}
	if v := KeyValue(strings.Repeat("a", 128)); v != strings.Repeat("a", 128) {
		t.Fatalf("128 bytes hashed")
	}
}

func TestParseKey(t *testing.T) {
	got, err := ParseKey("consumer + header:X-Tenant+claim:org+api_key")
	want := []KeyPart{{Kind: KindConsumer}, {Kind: KindHeader, Name: "X-Tenant"}, {Kind: KindClaim, Name: "org"}, {Kind: KindAPIKey}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatal(got, err)
	}
	if got, err := ParseKey(""); got != nil || err != nil {
		t.Fatal(got, err)
	}
	for _, bad := range []string{"cookie", "header", "client_ip:x", "header:bad name", "query:", "consumer+"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// queryValue agrees with net/url on the first value.
func TestQueryValue(t *testing.T) {
	for _, raw := range []string{"a=1&a=2", "b=1", "a", "a=", "a=%zz&a=3", "a;b=1&a=4", "%61=5", "a=x+y"} {
		want := ""
		if vs, ok := parseQueryFirst(raw, "a"); ok {
			want = vs
		}
		if got, _ := query.Value(raw, "a"); got != want {
			t.Errorf("%q: %q, want %q", raw, got, want)
		}
	}
}

func parseQueryFirst(raw, name string) (string, bool) {
	vs, _ := parseQuery(raw)
	v, ok := vs[name]
	if !ok {
		return "", false
	}
	return v[0], true
}
