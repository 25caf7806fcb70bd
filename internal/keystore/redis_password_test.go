package keystore

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRedisPassword: against a server with requirepass, a client built
// as the gateway builds it with the right password works; with a wrong
// or no password every call fails with an error, within the context
// deadline, and Lookup never reports a key as found.
func TestRedisPassword(t *testing.T) {
	const password = "correct horse"
	srv := redistest.StartWithPassword(t, password)
	client := func(pw string) redis.UniversalClient {
		c := redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs: []string{srv.Addr}, Password: pw, ContextTimeoutEnabled: true,
		})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	good := NewRedis(client(password), "")
	plain, k := issue(t, good, "alice")
	if got, ok := mustLookup(t, good, plain); !ok || got.ID != k.ID {
		t.Fatalf("Lookup with the password = %+v, %v", got, ok)
	}

	for name, pw := range map[string]string{"WrongPassword": "wrong", "NoPassword": ""} {
		t.Run(name, func(t *testing.T) {
			s := NewRedis(client(pw), "")
			for op, call := range map[string]func(ctx context.Context) error{
				"Lookup": func(ctx context.Context) error {
					_, ok, err := s.Lookup(ctx, HashKey(plain))
					if ok {
						t.Error("Lookup reported the key found")
					}
					return err
				},
				"Issue": func(ctx context.Context) error { _, _, err := s.Issue(ctx, "mallory"); return err },
				"List":  func(ctx context.Context) error { _, err := s.List(ctx, "alice"); return err },
				"Revoke": func(ctx context.Context) error {
					return s.Revoke(ctx, "alice", k.ID)
				},
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
				start := time.Now()
				err := call(ctx)
				d := time.Since(start)
				cancel()
				if err == nil {
					t.Fatalf("%s: no error", op)
				}
				if !strings.Contains(err.Error(), "WRONGPASS") && !strings.Contains(err.Error(), "NOAUTH") {
					t.Errorf("%s: %v, want an authentication error", op, err)
				}
				if d > time.Second {
					t.Fatalf("%s took %v with a 500ms deadline", op, d)
				}
			}
		})
	}
	// Nothing the refused clients tried took effect.
	if list, err := good.List(context.Background(), "alice"); err != nil || len(list) != 1 {
		t.Fatalf("alice's keys = %v, %v", list, err)
	}
	if list, err := good.List(context.Background(), "mallory"); err != nil || len(list) != 0 {
		t.Fatalf("mallory's keys = %v, %v", list, err)
	}
}
