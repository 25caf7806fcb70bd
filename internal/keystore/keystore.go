// Package keystore holds API keys issued at run time (through the admin
// API), as opposed to keys written in the configuration.
//
// Keys are stored only as SHA-256 hashes: the plain key is returned once,
// by Issue, and cannot be recovered afterwards. A store answers Lookup by
// hash, which is what the api_key policy calls on every request.
//
// Two implementations: Bolt, a file owned by a single gateway process
// with an in-memory index; and Redis, shared by several gateway
// instances, where a revocation is visible to all of them at once.
package keystore

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Key is an issued API key, without its plain text.
type Key struct {
	// ID is a short random id, unique per store, used to revoke the key.
	ID string
	// Consumer is the name of the consumer the key authenticates as.
	Consumer string
	// Hash is the SHA-256 of the plain key.
	Hash [32]byte
	// Prefix is the first PrefixLen characters of the plain key, so an
	// operator can tell keys apart without the key itself.
	Prefix string
	// Created is when the key was issued.
	Created time.Time
}

// ErrNotFound is returned by Revoke when the consumer has no key with
// the given id.
var ErrNotFound = errors.New("keystore: key not found")

// ErrClosed is returned by a closed store.
var ErrClosed = errors.New("keystore: store closed")

// Store holds issued API keys.
type Store interface {
	// Issue creates a key for consumer and returns its plain text, which
	// is not stored and cannot be obtained again.
	Issue(ctx context.Context, consumer string) (plain string, k Key, err error)
	// Revoke deletes the consumer's key with the given id; ErrNotFound
	// when there is none.
	Revoke(ctx context.Context, consumer, id string) error
	// List returns the consumer's keys sorted by Created.
	List(ctx context.Context, consumer string) ([]Key, error)
	// Lookup finds a key by the hash of its plain text. ok is false when
	// there is no such key; err is set only when the store cannot answer
	// (and then ok is meaningless): callers must not treat an error as
	// "unknown key". Lookup returns, with an error, once ctx is done.
	Lookup(ctx context.Context, hash [32]byte) (k Key, ok bool, err error)
	// Close releases the store.
	Close() error
}

// InMemory is implemented by stores whose Lookup answers from memory,
// never blocks and never fails for I/O reasons. Callers may skip setting
// up a deadline for such lookups, which keeps the hot path free of the
// timer and context allocations.
type InMemory interface {
	Store
	// LookupInMemory is a marker; it does nothing.
	LookupInMemory()
}

// KeyPrefix starts every plain key, so that leaked keys are easy to
// recognise (secret scanners, logs).
const KeyPrefix = "gh_"

// PrefixLen is how many characters of the plain key Key.Prefix keeps.
const PrefixLen = 8

// keyBytes is the key's entropy: 256 bits.
const keyBytes = 32

// HashKey returns the SHA-256 of a plain key, the form stores index by.
func HashKey(plain string) [32]byte { return sha256.Sum256([]byte(plain)) }

// newKey generates a plain key and its Key record for consumer.
func newKey(consumer string) (string, Key, error) {
	if consumer == "" {
		return "", Key{}, errors.New("keystore: empty consumer name")
	}
	var raw [keyBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", Key{}, fmt.Errorf("keystore: generate key: %w", err)
	}
	plain := KeyPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	id, err := newID()
	if err != nil {
		return "", Key{}, err
	}
	return plain, Key{
		ID:       id,
		Consumer: consumer,
		Hash:     HashKey(plain),
		Prefix:   plain[:PrefixLen],
		// Round to what both stores keep (Bolt: RFC 3339 nanoseconds,
		// Redis: Unix nanoseconds) and drop the monotonic reading, so
		// that the returned Key equals what List returns later.
		Created: time.Now().UTC().Round(0),
	}, nil
}

// newID returns a 16-hex-digit random id. 64 bits make collisions
// between one consumer's keys negligible; Bolt still checks.
func newID() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("keystore: generate id: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// cmpKeys orders keys by Created, then ID so the order is total.
func cmpKeys(a, b Key) int {
	return cmp.Or(a.Created.Compare(b.Created), strings.Compare(a.ID, b.ID))
}
