package cache

import (
	"context"
	"time"
)

// Backend stores encoded responses. store.Store satisfies it (Redis,
// shared by every gateway instance); NewMemoryBackend is the default.
// Values returned by Get must be treated as read-only by the caller.
type Backend interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	Delete(ctx context.Context, keys ...string) error
	DeletePrefix(ctx context.Context, prefix string) (int, error)
}
