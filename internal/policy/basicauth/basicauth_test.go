package basicauth

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/internal/identity"
)

func hash(t testing.TB, pw string) []byte {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

var consumers = identity.Consumers{
	"alice": {Name: "alice", Groups: []string{"admins"}},
	"team":  {Name: "team", Groups: []string{"dev"}},
}

func newAuth(t testing.TB, cfg Config) *Authenticator {
	t.Helper()
	if cfg.Users == nil && cfg.HtpasswdFile == "" {
		cfg.Users = []User{
			{Name: "alice", Hash: hash(t, "wonderland")},
			{Name: "bob", Hash: hash(t, "builder"), Consumer: "team"},
			{Name: "carol", Hash: hash(t, "secret")},
		}
	}
	if cfg.Consumers == nil {
		cfg.Consumers = consumers
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func basicReq(user, pw string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pw)
	return r
}

func refusal(t *testing.T, err error) *identity.Error {
	t.Helper()
	var e *identity.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *identity.Error", err)
	}
	return e
}

func TestNoCredentials(t *testing.T) {
	a := newAuth(t, Config{})
	for _, h := range []string{"", "Bearer abc", "Digest x", "Basically YWxpY2U6d29uZGVybGFuZA=="} {
		r := httptest.NewRequest("GET", "/", nil)
		if h != "" {
			r.Header.Set("Authorization", h)
		}
		if _, err := a.Authenticate(r); err != identity.ErrNoCredentials {
			t.Errorf("%q: err = %v, want ErrNoCredentials", h, err)
		}
	}
}

func TestRefusals(t *testing.T) {
	a := newAuth(t, Config{Realm: "api"})
	b64 := base64.StdEncoding.EncodeToString
	for name, h := range map[string]string{
		"empty":          "Basic ",
		"bad base64":     "Basic !!!",
		"no colon":       "Basic " + b64([]byte("alice")),
		"unknown user":   "Basic " + b64([]byte("mallory:wonderland")),
		"wrong password": "Basic " + b64([]byte("alice:wonderlan")),
		"other's pw":     "Basic " + b64([]byte("alice:builder")),
		"too long":       "Basic " + strings.Repeat("A", maxCredentialLen+4),
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Authorization", h)
		_, err := a.Authenticate(r)
		e := refusal(t, err)
		if e.Status != 401 || e.Challenge != `Basic realm="api", charset="UTF-8"` {
			t.Errorf("%s: got %d %q", name, e.Status, e.Challenge)
		}
	}
	if a.Challenge() != `Basic realm="api", charset="UTF-8"` {
		t.Errorf("Challenge() = %q", a.Challenge())
	}
}

func TestIdentity(t *testing.T) {
	a := newAuth(t, Config{})
	cases := []struct {
		user, pw, consumer string
		groups             []string
	}{
		{"alice", "wonderland", "alice", []string{"admins"}}, // consumer defaults to the user name
		{"bob", "builder", "team", []string{"dev"}},          // explicit consumer
		{"carol", "secret", "", nil},                         // no consumer configured
	}
	for _, c := range cases {
		r := basicReq(c.user, c.pw)
		r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "Basic", "bAsIc", 1)) // scheme is case-insensitive
		id, err := a.Authenticate(r)
		if err != nil {
			t.Fatalf("%s: %v", c.user, err)
		}
		if id.Method != "basic" || id.Subject != c.user || id.Name() != c.user && id.Name() != c.consumer {
			t.Errorf("%s: identity %+v", c.user, id)
		}
		if got := id.Consumer; c.consumer == "" && got != nil || c.consumer != "" && (got == nil || got.Name != c.consumer) {
			t.Errorf("%s: consumer %v, want %q", c.user, got, c.consumer)
		}
		if strings.Join(id.Groups, ",") != strings.Join(c.groups, ",") {
			t.Errorf("%s: groups %v", c.user, id.Groups)
		}
		if r.Header.Get("Authorization") == "" {
			t.Errorf("%s: Authorization removed without HideCredentials", c.user)
		}
	}
	// Appending to an identity's groups must not change the consumer's.
	id, _ := a.Authenticate(basicReq("alice", "wonderland"))
	_ = append(id.Groups, "extra")
	if len(consumers["alice"].Groups) != 1 || cap(id.Groups) != len(id.Groups) {
		t.Error("identity groups share spare capacity with the consumer")
	}
}

func TestPasswordWithColon(t *testing.T) {
	a := newAuth(t, Config{Users: []User{{Name: "u", Hash: hash(t, "a:b")}}})
	if _, err := a.Authenticate(basicReq("u", "a:b")); err != nil {
		t.Fatal(err)
	}
}

func TestHideCredentials(t *testing.T) {
	a := newAuth(t, Config{HideCredentials: true})
	r := basicReq("alice", "wonderland")
	if _, err := a.Authenticate(r); err != nil {
		t.Fatal(err)
	}
	if r.Header.Get("Authorization") != "" {
		t.Error("Authorization not removed")
	}
	r = basicReq("alice", "wrong")
	a.Authenticate(r)
	if r.Header.Get("Authorization") == "" {
		t.Error("Authorization removed from a refused request")
	}
}

// An unknown user must be compared against the dummy hash, whose cost is
// the highest configured, so it takes as long as a wrong password.
func TestUnknownUserComparesDummy(t *testing.T) {
	h12, err := bcrypt.GenerateFromPassword([]byte("x"), 6)
	if err != nil {
		t.Fatal(err)
	}
	a := newAuth(t, Config{Users: []User{{Name: "a", Hash: hash(t, "x")}, {Name: "b", Hash: h12}}})
	if c, _ := bcrypt.Cost(a.dummy); c != 6 {
		t.Fatalf("dummy cost %d, want 6", c)
	}
	var compared [][]byte
	a.compare = func(h, pw []byte) error {
		compared = append(compared, h)
		return bcrypt.CompareHashAndPassword(h, pw)
	}
	if _, err := a.Authenticate(basicReq("nobody", "x")); err == nil {
		t.Fatal("unknown user accepted")
	}
	if len(compared) != 1 || !bytes.Equal(compared[0], a.dummy) {
		t.Fatalf("unknown user compared %d hashes, want the dummy", len(compared))
	}
}

func TestCache(t *testing.T) {
	a := newAuth(t, Config{})
	now := time.Unix(1000, 0)
	a.now = func() time.Time { return now }
	calls := 0
	a.compare = func(h, pw []byte) error { calls++; return bcrypt.CompareHashAndPassword(h, pw) }

	for range 3 {
		if _, err := a.Authenticate(basicReq("alice", "wonderland")); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1 {
		t.Fatalf("bcrypt ran %d times for 3 requests, want 1", calls)
	}
	// Failures are never cached: each wrong password pays bcrypt.
	for range 2 {
		if _, err := a.Authenticate(basicReq("alice", "wrong")); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if calls != 3 {
		t.Fatalf("bcrypt ran %d times, want 3", calls)
	}
	// The cached entry is for this password only.
	if _, err := a.Authenticate(basicReq("alice", "wonderland2")); err == nil {
		t.Fatal("different password accepted from cache")
	}
	// After the TTL the password is verified again.
	now = now.Add(cacheTTL)
	a.Authenticate(basicReq("alice", "wonderland"))
	if calls != 5 {
		t.Fatalf("bcrypt ran %d times, want 5 (cache entry expired)", calls)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newVerifiedCache(time.Minute, 8, [32]byte{1})
	now := time.Unix(0, 0)
	for i := range 100 {
		c.add(c.key("u", string(rune('a'+i))), now)
		if c.len() > 8 {
			t.Fatalf("cache grew to %d entries", c.len())
		}
	}
	last := c.key("u", string(rune('a'+99)))
	if !c.hit(last, now) {
		t.Error("newest entry evicted")
	}
	if c.key("ab", "c") == c.key("a", "bc") {
		t.Error("user/password boundary not part of the key")
	}
	if newVerifiedCache(time.Minute, 8, [32]byte{2}).key("u", "p") == c.key("u", "p") {
		t.Error("salt not part of the key")
	}
}

func TestNewErrors(t *testing.T) {
	good := hash(t, "x")
	for name, cfg := range map[string]Config{
		"no users":         {},
		"not bcrypt":       {Users: []User{{Name: "a", Hash: []byte("{SHA}abc")}}},
		"duplicate":        {Users: []User{{Name: "a", Hash: good}, {Name: "a", Hash: good}}},
		"empty name":       {Users: []User{{Name: "", Hash: good}}},
		"colon in name":    {Users: []User{{Name: "a:b", Hash: good}}},
		"unknown consumer": {Users: []User{{Name: "a", Hash: good, Consumer: "nope"}}},
		"bad realm":        {Users: []User{{Name: "a", Hash: good}}, Realm: `a"b`},
		"missing file":     {HtpasswdFile: filepath.Join(t.TempDir(), "nope")},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestHtpasswdFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users")
	h := strings.Replace(string(hash(t, "pw")), "$2a$", "$2y$", 1) // as written by htpasswd -B
	if err := os.WriteFile(path, []byte("# users\n\ndave:"+h+"\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := newAuth(t, Config{HtpasswdFile: path, Users: []User{{Name: "alice", Hash: hash(t, "wonderland")}}})
	for user, pw := range map[string]string{"dave": "pw", "alice": "wonderland"} {
		if _, err := a.Authenticate(basicReq(user, pw)); err != nil {
			t.Errorf("%s: %v", user, err)
		}
	}
	// A user both inline and in the file is a configuration error.
	if _, err := New(Config{HtpasswdFile: path, Users: []User{{Name: "dave", Hash: hash(t, "x")}}}); err == nil {
		t.Error("duplicate across inline and file accepted")
	}
}

func TestParseHtpasswdRefusesWeakSchemes(t *testing.T) {
	for _, line := range []string{
		"u:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=",
		"u:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/",
		"u:rOs5KMqkhT8xE", // crypt
		"u:plaintext",
		"u:$5$rounds=5000$salt$hash",
	} {
		_, err := ParseHtpasswd(strings.NewReader("# c\n"+line+"\n"), "users.htpasswd")
		if err == nil || !strings.HasPrefix(err.Error(), "users.htpasswd:2: unsupported hash scheme") || !strings.Contains(err.Error(), "(use htpasswd -B)") {
			t.Errorf("%q: err = %v", line, err)
		}
		if err != nil && strings.Contains(err.Error(), line[2:]) {
			t.Errorf("%q: error echoes the hash: %v", line, err)
		}
	}
	for name, text := range map[string]string{
		"no colon":  "alice\n",
		"no user":   ":" + string(hash(t, "x")) + "\n",
		"malformed": "u:$2y$10$short\n",
		"duplicate": "u:" + string(hash(t, "x")) + "\nu:" + string(hash(t, "y")) + "\n",
		"too long":  "u:$2y$" + strings.Repeat("x", 70000) + "\n",
	} {
		if _, err := ParseHtpasswd(strings.NewReader(text), "f"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	users, err := ParseHtpasswd(strings.NewReader("a:"+string(hash(t, "x"))+"\nb:"+strings.Replace(string(hash(t, "y")), "$2a$", "$2b$", 1)), "f")
	if err != nil || len(users) != 2 || users[0].Name != "a" || users[1].Name != "b" {
		t.Fatalf("users %v, err %v", users, err)
	}
}

func FuzzParseHtpasswd(f *testing.F) {
	f.Add("a:$2y$04$abcdefghijklmnopqrstuuRbkTHdX0VB9G1yQTR7JFFtWyrFdL6PO\n# c\n")
	f.Add("u:{SHA}x\n")
	f.Add("::\n\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		users, err := ParseHtpasswd(strings.NewReader(s), "f")
		if err != nil {
			return
		}
		for _, u := range users {
			if u.Name == "" || !isBcrypt(string(u.Hash)) {
				t.Fatalf("accepted %+v", u)
			}
		}
	})
}

func FuzzCredentials(f *testing.F) {
	f.Add("Basic YWxpY2U6d29uZGVybGFuZA==")
	f.Add("basic   Og==")
	f.Add("Basic")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, h string) {
		user, pw, err := credentials(h)
		if err != nil {
			if user != "" || pw != "" {
				t.Fatal("values returned with an error")
			}
			return
		}
		if strings.Contains(user, ":") {
			t.Fatalf("user %q contains a colon", user)
		}
	})
}

func BenchmarkAuthenticateCached(b *testing.B) {
	a := newAuth(b, Config{})
	r := basicReq("alice", "wonderland")
	if _, err := a.Authenticate(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}
