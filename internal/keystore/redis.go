package keystore

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix starts every key the Redis store writes.
const DefaultRedisPrefix = "gatehouse:"

// Redis is a Store in Redis, shared by every gateway instance that uses
// the same server and prefix.
//
// Layout:
//
//	<prefix>apikey:<hex sha256>     hash: id, consumer, prefix, created (Unix ns)
//	<prefix>consumer:<name>:keys    hash: key id -> hex sha256
//
// Caching: none. Every Lookup is one HGETALL, so a revocation is visible
// to all instances as soon as Revoke returns, well inside the one-second
// bound, at the cost of a round trip per request. A local cache would
// have to stay under 250 ms to keep that bound and would still serve a
// revoked key for up to its TTL; the round trip was judged the better
// trade for a security decision.
//
// Issue and Revoke write the two keys one after the other, not in a
// MULTI/EXEC: they do not share a hash slot, and on Redis Cluster a
// transaction across slots is refused (CROSSSLOT). The order makes
// every intermediate state safe instead, on every deployment: Issue
// writes the apikey record before the index, so a failure in between
// leaves a record whose plain key nobody was given; Revoke deletes the
// apikey record before the index entry, so the key stops working first
// and a failure in between leaves an index entry that List skips and a
// retried Revoke removes.
type Redis struct {
	c      redis.UniversalClient
	prefix string
}

// NewRedis returns a store using client c, with every key starting with
// prefix (DefaultRedisPrefix when empty). The store does not own c:
// Close leaves it open.
func NewRedis(c redis.UniversalClient, prefix string) *Redis {
	if prefix == "" {
		prefix = DefaultRedisPrefix
	}
	return &Redis{c: c, prefix: prefix}
}

func (s *Redis) keyKey(hexHash string) string { return s.prefix + "apikey:" + hexHash }

func (s *Redis) consumerKey(consumer string) string {
	return s.prefix + "consumer:" + consumer + ":keys"
}

// Issue creates a key for consumer.
func (s *Redis) Issue(ctx context.Context, consumer string) (string, Key, error) {
	plain, k, err := newKey(consumer)
	if err != nil {
		return "", Key{}, err
	}
	hh := hex.EncodeToString(k.Hash[:])
	// Record first, then index: see the type's doc.
	err = s.c.HSet(ctx, s.keyKey(hh),
		"id", k.ID,
		"consumer", k.Consumer,
		"prefix", k.Prefix,
		"created", strconv.FormatInt(k.Created.UnixNano(), 10)).Err()
	if err == nil {
		err = s.c.HSet(ctx, s.consumerKey(consumer), k.ID, hh).Err()
	}
	if err != nil {
		return "", Key{}, fmt.Errorf("keystore: issue: %w", err)
	}
	return plain, k, nil
}

// Revoke deletes the consumer's key id.
func (s *Redis) Revoke(ctx context.Context, consumer, id string) error {
	ck := s.consumerKey(consumer)
	hh, err := s.c.HGet(ctx, ck, id).Result()
	if errors.Is(err, redis.Nil) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("keystore: revoke: %w", err)
	}
	// Record first, so the key stops working even if the index update
	// fails; then the index entry. See the type's doc.
	if err := s.c.Del(ctx, s.keyKey(hh)).Err(); err != nil {
		return fmt.Errorf("keystore: revoke: %w", err)
	}
	removed, err := s.c.HDel(ctx, ck, id).Result()
	if err != nil {
		return fmt.Errorf("keystore: revoke: %w", err)
	}
	// A concurrent Revoke of the same id got there first: the key is gone
	// either way, but only one caller is told it revoked it.
	if removed == 0 {
		return ErrNotFound
	}
	return nil
}

// List returns the consumer's keys sorted by Created.
func (s *Redis) List(ctx context.Context, consumer string) ([]Key, error) {
	ids, err := s.c.HGetAll(ctx, s.consumerKey(consumer)).Result()
	if err != nil {
		return nil, fmt.Errorf("keystore: list: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.MapStringStringCmd, 0, len(ids))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, hh := range ids {
			cmds = append(cmds, p.HGetAll(ctx, s.keyKey(hh)))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("keystore: list: %w", err)
	}
	keys := make([]Key, 0, len(cmds))
	for _, cmd := range cmds {
		k, ok, err := s.decode(cmd.Args()[1].(string), cmd.Val())
		if err != nil {
			return nil, err
		}
		if ok && k.Consumer == consumer {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmpKeys)
	return keys, nil
}

// Lookup finds a key by hash with one HGETALL. It returns when ctx is
// done even if the client was built without ContextTimeoutEnabled (the
// go-redis default, under which socket reads ignore ctx deadlines); the
// abandoned call then ends at the client's own ReadTimeout.
func (s *Redis) Lookup(ctx context.Context, hash [32]byte) (Key, bool, error) {
	kk := s.keyKey(hex.EncodeToString(hash[:]))
	if ctx.Done() == nil {
		return s.lookup(ctx, kk, hash)
	}
	type result struct {
		k   Key
		ok  bool
		err error
	}
	ch := make(chan result, 1) // buffered: the goroutine never blocks
	go func() {
		k, ok, err := s.lookup(ctx, kk, hash)
		ch <- result{k, ok, err}
	}()
	select {
	case r := <-ch:
		return r.k, r.ok, r.err
	case <-ctx.Done():
		return Key{}, false, fmt.Errorf("keystore: lookup: %w", ctx.Err())
	}
}

func (s *Redis) lookup(ctx context.Context, kk string, hash [32]byte) (Key, bool, error) {
	m, err := s.c.HGetAll(ctx, kk).Result()
	if err != nil {
		return Key{}, false, fmt.Errorf("keystore: lookup: %w", err)
	}
	k, ok, err := s.decode(kk, m)
	if ok {
		k.Hash = hash
	}
	return k, ok, err
}

// decode turns the fields of the apikey hash at redis key kk into a Key.
// An empty map is a missing key.
func (s *Redis) decode(kk string, m map[string]string) (Key, bool, error) {
	if len(m) == 0 {
		return Key{}, false, nil
	}
	ns, err := strconv.ParseInt(m["created"], 10, 64)
	if err != nil || m["id"] == "" || m["consumer"] == "" {
		return Key{}, false, fmt.Errorf("keystore: corrupt record %s", kk)
	}
	k := Key{
		ID:       m["id"],
		Consumer: m["consumer"],
		Prefix:   m["prefix"],
		Created:  time.Unix(0, ns).UTC(),
	}
	hh := kk[len(s.prefix)+len("apikey:"):]
	if len(hh) != hex.EncodedLen(len(k.Hash)) {
		return Key{}, false, fmt.Errorf("keystore: corrupt record %s", kk)
	}
	if _, err := hex.Decode(k.Hash[:], []byte(hh)); err != nil {
		return Key{}, false, fmt.Errorf("keystore: corrupt record %s", kk)
	}
	return k, true, nil
}

// Close does nothing: the client belongs to the caller, who may share it
// with other Redis users (rate limits).
func (s *Redis) Close() error { return nil }
