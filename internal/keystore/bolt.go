package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// lockTimeout bounds how long OpenBolt waits for the file lock another
// process holds.
const lockTimeout = time.Second

// keysBucket maps a key's SHA-256 (32 bytes) to its JSON boltRecord.
var keysBucket = []byte("apikeys")

// boltRecord is a key as stored in Bolt. The hash is the bucket key.
type boltRecord struct {
	ID       string    `json:"id"`
	Consumer string    `json:"consumer"`
	Prefix   string    `json:"prefix"`
	Created  time.Time `json:"created"`
}

// Bolt is a Store in a bbolt file that one gateway process owns. Every
// key is also held in memory, loaded at open and kept in step by Issue
// and Revoke, so Lookup neither touches the disk nor allocates.
type Bolt struct {
	db *bolt.DB

	mu     sync.RWMutex
	byHash map[[32]byte]Key
	byID   map[string][32]byte
	closed bool
}

var _ InMemory = (*Bolt)(nil)

// OpenBolt opens the key file at path, creating it (mode 0600) and its
// directory (0700) when missing. When another process holds the file it
// fails after about a second instead of waiting forever.
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("keystore: create directory for %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("keystore: %s is locked by another process (another gateway running with the same key file?)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: open %s: %w", path, err)
	}
	s := &Bolt{db: db, byHash: map[[32]byte]Key{}, byID: map[string][32]byte{}}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(keysBucket)
		if err != nil {
			return err
		}
		return b.ForEach(func(h, v []byte) error {
			if len(h) != 32 {
				return fmt.Errorf("bad hash length %d", len(h))
			}
			var rec boltRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return fmt.Errorf("record %x: %w", h, err)
			}
			k := Key{ID: rec.ID, Consumer: rec.Consumer, Prefix: rec.Prefix, Created: rec.Created}
			copy(k.Hash[:], h)
			s.byHash[k.Hash] = k
			s.byID[k.ID] = k.Hash
			return nil
		})
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("keystore: load %s: %w", path, err)
	}
	return s, nil
}

// Issue creates a key for consumer, writes it to disk, then indexes it.
func (s *Bolt) Issue(ctx context.Context, consumer string) (string, Key, error) {
	if err := ctx.Err(); err != nil {
		return "", Key{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return "", Key{}, ErrClosed
	}
	var plain string
	var k Key
	for {
		var err error
		if plain, k, err = newKey(consumer); err != nil {
			return "", Key{}, err
		}
		if _, dup := s.byID[k.ID]; !dup {
			break
		}
	}
	v, err := json.Marshal(boltRecord{ID: k.ID, Consumer: k.Consumer, Prefix: k.Prefix, Created: k.Created})
	if err != nil {
		return "", Key{}, err
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(keysBucket).Put(k.Hash[:], v)
	})
	if err != nil {
		return "", Key{}, fmt.Errorf("keystore: issue: %w", err)
	}
	// Index only after the write committed, so memory never holds a key
	// the file does not.
	s.byHash[k.Hash] = k
	s.byID[k.ID] = k.Hash
	return plain, k, nil
}

// Revoke deletes the consumer's key id from disk, then from the index.
func (s *Bolt) Revoke(ctx context.Context, consumer, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	h, ok := s.byID[id]
	if !ok || s.byHash[h].Consumer != consumer {
		return ErrNotFound
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(keysBucket).Delete(h[:])
	})
	if err != nil {
		return fmt.Errorf("keystore: revoke: %w", err)
	}
	delete(s.byHash, h)
	delete(s.byID, id)
	return nil
}

// List returns the consumer's keys sorted by Created, from memory.
func (s *Bolt) List(ctx context.Context, consumer string) ([]Key, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	var keys []Key
	for _, k := range s.byHash {
		if k.Consumer == consumer {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmpKeys)
	return keys, nil
}

// Lookup finds a key by hash in memory. It does not allocate and ignores
// ctx: it cannot block.
func (s *Bolt) Lookup(_ context.Context, hash [32]byte) (Key, bool, error) {
	s.mu.RLock()
	k, ok := s.byHash[hash]
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return Key{}, false, ErrClosed
	}
	return k, ok, nil
}

// LookupInMemory marks Bolt as an InMemory store.
func (s *Bolt) LookupInMemory() {}

// Close closes the file, releasing its lock. Later calls fail with
// ErrClosed.
func (s *Bolt) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.byHash, s.byID = nil, nil
	return s.db.Close()
}
