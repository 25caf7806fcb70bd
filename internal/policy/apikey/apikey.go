// Package apikey is the api_key authentication method: a key sent in a
// header, query parameter or cookie, checked against the keys written in
// the configuration and, optionally, a keystore of keys issued at run
// time.
//
// Keys are only ever compared as SHA-256 hashes, so neither the
// configuration nor the store needs the plain keys.
package apikey

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/keystore"
)

// DefaultHeader is where the key is read from when Config names no place.
const DefaultHeader = "X-Api-Key"

// DefaultStoreTimeout bounds a Store lookup when Config sets none.
const DefaultStoreTimeout = 100 * time.Millisecond

// DefaultRealm is the challenge's realm when Config sets none.
const DefaultRealm = "gatehouse"

// MaxKeyLen bounds the key taken from a request. Issued keys are 46
// bytes; anything longer than this is refused before it is hashed.
const MaxKeyLen = 256

// Method is the Identity.Method this package sets.
const Method = "api_key"

// detailInvalid is the one refusal detail clients see, whatever the
// reason (unknown, revoked, consumer gone, too long): telling them apart
// would help someone probing keys. The log gets the reason via Err.
const detailInvalid = "invalid API key"

// Config configures an Authenticator.
type Config struct {
	// Header is the request header carrying the key. When Header, Query
	// and Cookie are all empty it defaults to DefaultHeader.
	Header string
	// Query is a query parameter carrying the key, optional.
	Query string
	// Cookie is a cookie carrying the key, optional.
	Cookie string
	// Static maps key hashes (keystore.HashKey) from the configuration to
	// consumer names. Every name must be in Consumers.
	Static map[[32]byte]string
	// Store holds keys issued at run time, optional. Static keys are
	// checked first.
	Store keystore.Store
	// StoreTimeout bounds a Store lookup; DefaultStoreTimeout when zero.
	// Stores answering from memory (keystore.InMemory) are not given a
	// deadline, as they cannot block.
	StoreTimeout time.Duration
	// Consumers are the configured consumers keys map to. A store key
	// whose consumer is not here (deleted from the configuration) is
	// refused.
	Consumers identity.Consumers
	// HideCredentials removes the key from the request once it is
	// accepted, so the upstream never sees it.
	HideCredentials bool
	// Realm is the challenge's realm; DefaultRealm when empty.
	Realm string
}

// Authenticator authenticates requests by API key. It implements
// identity.Authenticator and is safe for concurrent use.
type Authenticator struct {
	header, query, cookie string
	static                map[[32]byte]*identity.Consumer // configured key hashes
	store                 keystore.Store
	storeInMemory         bool
	storeTimeout          time.Duration
	consumers             identity.Consumers
	hide                  bool
	challenge             string
}

var _ identity.Authenticator = (*Authenticator)(nil)

// New checks cfg and returns its Authenticator.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{
		query:        cfg.Query,
		cookie:       cfg.Cookie,
		store:        cfg.Store,
		storeTimeout: cfg.StoreTimeout,
		consumers:    cfg.Consumers,
		hide:         cfg.HideCredentials,
	}
	if cfg.Header == "" && cfg.Query == "" && cfg.Cookie == "" {
		cfg.Header = DefaultHeader
	}
	if cfg.Header != "" {
		if !h1wire.IsToken(cfg.Header) {
			return nil, fmt.Errorf("api_key: header %q is not a valid header name", cfg.Header)
		}
		// Canonical once here, so Authenticate indexes r.Header directly.
		a.header = textproto.CanonicalMIMEHeaderKey(cfg.Header)
	}
	if cfg.Cookie != "" && !h1wire.IsToken(cfg.Cookie) {
		return nil, fmt.Errorf("api_key: cookie %q is not a valid cookie name", cfg.Cookie)
	}
	if a.storeTimeout < 0 {
		return nil, fmt.Errorf("api_key: store_timeout %v is negative", a.storeTimeout)
	}
	if a.storeTimeout == 0 {
		a.storeTimeout = DefaultStoreTimeout
	}
	if _, ok := a.store.(keystore.InMemory); ok {
		a.storeInMemory = true
	}
	a.static = make(map[[32]byte]*identity.Consumer, len(cfg.Static))
	for h, name := range cfg.Static {
		c := cfg.Consumers.Get(name)
		if c == nil {
			return nil, fmt.Errorf("api_key: a key is configured for consumer %q, which is not defined", name)
		}
		a.static[h] = c
	}
	realm := cfg.Realm
	if realm == "" {
		realm = DefaultRealm
	}
	if !h1wire.ValidFieldValue(realm) {
		return nil, fmt.Errorf("api_key: realm %q contains control characters", realm)
	}
	// Kong sends `Key realm="kong"`; "ApiKey" names the scheme more
	// plainly. Either way it is not a registered HTTP auth scheme, only a
	// hint to the client of what to send.
	a.challenge = `ApiKey realm="` + quote(realm) + `"`
	return a, nil
}

// quote escapes s for the inside of an RFC 9110 quoted-string.
func quote(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Challenge is the WWW-Authenticate value for a 401:
// `ApiKey realm="<realm>"`.
func (a *Authenticator) Challenge() string { return a.challenge }

// Authenticate finds the request's key and the consumer it belongs to.
//
// It returns identity.ErrNoCredentials when no configured place carries a
// (non-empty) key; a 401 *identity.Error for an unknown, revoked or
// over-long key or one whose consumer is no longer configured; a 503 when
// the store cannot answer in time (fail closed). On success, with
// HideCredentials, it removes the key from r.
func (a *Authenticator) Authenticate(r *http.Request) (*identity.Identity, error) {
	key, from := a.extract(r)
	if from == fromNone {
		return nil, identity.ErrNoCredentials
	}
	if len(key) > MaxKeyLen {
		return nil, identity.Unauthorized(detailInvalid, a.challenge, errors.New("API key longer than 256 bytes"))
	}
	h := hashKey(key)

	// Found by its SHA-256 hash: the map lookup compares hashes, never
	// the key itself, so its timing says nothing useful about the key.
	consumer := a.static[h]
	if consumer == nil && a.store != nil {
		k, ok, err := a.lookup(r.Context(), h)
		if err != nil {
			return nil, identity.Unavailable("API key store unavailable", err)
		}
		if !ok || subtle.ConstantTimeCompare(k.Hash[:], h[:]) != 1 {
			return nil, identity.Unauthorized(detailInvalid, a.challenge, errors.New("unknown or revoked API key"))
		}
		if consumer = a.consumers.Get(k.Consumer); consumer == nil {
			return nil, identity.Unauthorized(detailInvalid, a.challenge,
				fmt.Errorf("API key %s belongs to consumer %q, which is not configured", k.ID, k.Consumer))
		}
	}
	if consumer == nil {
		return nil, identity.Unauthorized(detailInvalid, a.challenge, errors.New("unknown API key"))
	}
	if a.hide {
		a.remove(r, from)
	}
	return &identity.Identity{
		Method:   Method,
		Subject:  consumer.Name,
		Consumer: consumer,
		// Clipped so that a later append (another policy adding groups)
		// copies instead of writing into the consumer's shared array.
		Groups: slices.Clip(consumer.Groups),
	}, nil
}

// lookup asks the store, under a deadline unless it answers from memory
// (the deadline costs a timer and a context per request).
func (a *Authenticator) lookup(ctx context.Context, h [32]byte) (keystore.Key, bool, error) {
	if a.storeInMemory {
		return a.store.Lookup(ctx, h)
	}
	ctx, cancel := context.WithTimeout(ctx, a.storeTimeout)
	defer cancel()
	return a.store.Lookup(ctx, h)
}

// hashKey is keystore.HashKey through a stack buffer, so the hot path
// does not allocate a []byte copy of the key. key must be at most
// MaxKeyLen bytes.
func hashKey(key string) [32]byte {
	var buf [MaxKeyLen]byte
	n := copy(buf[:], key)
	return sha256.Sum256(buf[:n])
}
