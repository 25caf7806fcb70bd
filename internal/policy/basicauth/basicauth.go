// Package basicauth authenticates requests with HTTP Basic credentials
// (RFC 7617) checked against bcrypt hashes, given inline or in an Apache
// htpasswd file.
package basicauth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/policy/credential"
)

const (
	// cacheTTL is how long a successful verification is remembered.
	// Removing a user or changing a password takes effect on reload,
	// which builds a new Authenticator and so a new, empty cache.
	cacheTTL = time.Minute
	// cacheSize bounds the remembered verifications.
	cacheSize = 4096
	// maxCredentialLen bounds the base64 credential accepted; real ones
	// are tens of bytes.
	maxCredentialLen = 4096
	// defaultRealm is the challenge realm when Config.Realm is empty.
	defaultRealm = "gatehouse"
)

// User is one basic-auth account.
type User struct {
	// Name is the user name the client sends.
	Name string
	// Hash is the bcrypt hash of the password.
	Hash []byte
	// Consumer names the configured consumer the user maps to; "" means
	// the consumer called Name, if there is one.
	Consumer string
}

// Config configures an Authenticator.
type Config struct {
	// Users are inline accounts.
	Users []User
	// HtpasswdFile, when set, is read once by New (see ParseHtpasswd);
	// its users are added to Users. A gateway reload re-reads it.
	HtpasswdFile string
	// Realm is the challenge realm; default "gatehouse".
	Realm string
	// Consumers are the configured consumers users map to.
	Consumers identity.Consumers
	// HideCredentials removes the Authorization header from the request
	// once it is accepted, so the upstream never sees the password.
	HideCredentials bool
}

// Authenticator checks Basic credentials. It is safe for concurrent use.
type Authenticator struct {
	users     map[string]account
	dummy     []byte // bcrypt hash compared for unknown users, see Authenticate
	challenge string
	hide      bool
	cache     *verifiedCache
	now       func() time.Time
	compare   func(hash, password []byte) error // bcrypt.CompareHashAndPassword; replaced in tests
}

type account struct {
	hash     []byte
	consumer *identity.Consumer
}

// New compiles cfg. It fails when there are no users, a hash is not
// bcrypt, a user is defined twice, an explicit consumer is not
// configured, the realm cannot be quoted, or the htpasswd file cannot be
// read.
func New(cfg Config) (*Authenticator, error) {
	users := slices.Clone(cfg.Users)
	if cfg.HtpasswdFile != "" {
		f, err := os.Open(cfg.HtpasswdFile)
		if err != nil {
			return nil, err
		}
		fileUsers, err := ParseHtpasswd(f, cfg.HtpasswdFile)
		f.Close()
		if err != nil {
			return nil, err
		}
		users = append(users, fileUsers...)
	}
	if len(users) == 0 {
		return nil, errors.New("no users configured")
	}
	realm := cfg.Realm
	if realm == "" {
		realm = defaultRealm
	}
	if !credential.Quotable(realm) {
		return nil, fmt.Errorf("realm %q must not contain quotes, backslashes or control characters", realm)
	}
	a := &Authenticator{
		users:     make(map[string]account, len(users)),
		challenge: credential.WithParam(credential.Challenge("Basic", realm), "charset", "UTF-8"),
		hide:      cfg.HideCredentials,
		now:       time.Now,
		compare:   bcrypt.CompareHashAndPassword,
	}
	maxCost := bcrypt.MinCost
	for _, u := range users {
		if u.Name == "" || strings.ContainsRune(u.Name, ':') {
			return nil, fmt.Errorf("invalid user name %q", u.Name)
		}
		if _, dup := a.users[u.Name]; dup {
			return nil, fmt.Errorf("user %q defined twice", u.Name)
		}
		cost, err := bcrypt.Cost(u.Hash)
		if err != nil {
			return nil, fmt.Errorf("user %q: hash is not bcrypt: %w", u.Name, err)
		}
		maxCost = max(maxCost, cost)
		consumer := cfg.Consumers.Get(u.Name)
		if u.Consumer != "" {
			if consumer = cfg.Consumers.Get(u.Consumer); consumer == nil {
				return nil, fmt.Errorf("user %q: unknown consumer %q", u.Name, u.Consumer)
			}
		}
		a.users[u.Name] = account{hash: slices.Clone(u.Hash), consumer: consumer}
	}
	// The dummy hash has the highest configured cost so an unknown user
	// costs at least as much as any real one.
	var pw [16]byte
	rand.Read(pw[:])
	dummy, err := bcrypt.GenerateFromPassword(pw[:], maxCost)
	if err != nil {
		return nil, err
	}
	a.dummy = dummy
	var salt [32]byte
	rand.Read(salt[:])
	a.cache = newVerifiedCache(cacheTTL, cacheSize, salt)
	return a, nil
}

// Challenge returns `Basic realm="...", charset="UTF-8"`.
func (a *Authenticator) Challenge() string { return a.challenge }

// Authenticate checks the request's Basic credentials. A request with no
// Authorization header, or one with another scheme, has no credentials
// for this method. Malformed credentials, an unknown user and a wrong
// password are all the same 401.
//
// An unknown user is compared against a dummy hash, so it costs the same
// bcrypt comparison as a wrong password and response times do not reveal
// which users exist. Successful verifications are cached (see
// verifiedCache), so only the first request of a client per minute pays
// for bcrypt.
func (a *Authenticator) Authenticate(r *http.Request) (*identity.Identity, error) {
	user, password, err := credentials(r.Header.Get("Authorization"))
	if err != nil {
		if err == identity.ErrNoCredentials {
			return nil, err
		}
		return nil, identity.Unauthorized("malformed basic credentials", a.challenge, err)
	}
	acct, known := a.users[user]
	now := a.now()
	key := a.cache.key(user, password)
	if !known || !a.cache.hit(key, now) {
		hash := a.dummy
		if known {
			hash = acct.hash
		}
		err := a.compare(hash, []byte(password))
		if !known || err != nil {
			return nil, identity.Unauthorized("invalid user name or password", a.challenge, nil)
		}
		a.cache.add(key, now)
	}
	if a.hide {
		r.Header.Del("Authorization")
	}
	id := &identity.Identity{Method: "basic", Subject: user, Consumer: acct.consumer}
	if acct.consumer != nil {
		// Clipped so a later policy appending groups copies the slice
		// instead of writing into the shared consumer's.
		id.Groups = slices.Clip(acct.consumer.Groups)
	}
	return id, nil
}

// credentials parses an Authorization header value. It returns
// identity.ErrNoCredentials when the value is empty or not Basic, and
// another error when it is Basic but malformed.
func credentials(h string) (user, password string, err error) {
	rest, ok := credential.AuthScheme(h, "Basic")
	if !ok {
		return "", "", identity.ErrNoCredentials
	}
	if rest == "" {
		return "", "", errors.New("empty credentials")
	}
	if len(rest) > maxCredentialLen {
		return "", "", errors.New("credentials too long")
	}
	raw, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", "", errors.New("credentials are not base64")
	}
	user, password, ok = strings.Cut(string(raw), ":")
	if !ok {
		return "", "", errors.New("credentials lack a colon")
	}
	return user, password, nil
}
