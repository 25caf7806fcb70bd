package store

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// TestRedisPassword: against a server with requirepass, a store on a
// client built as the gateway builds it with the right password works;
// with a wrong or no password every call fails with an error wrapping
// ErrUnavailable, within the context deadline, in both modes.
func TestRedisPassword(t *testing.T) {
	t.Parallel()
	const password = "correct horse"
	srv := redistest.StartWithPassword(t, password)
	client := func(t *testing.T, pw string) redis.UniversalClient {
		c := redis.NewUniversalClient(&redis.UniversalOptions{
			Addrs: []string{srv.Addr}, Password: pw, ContextTimeoutEnabled: true,
		})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	l := Limit{Algorithm: GCRA, Rate: 10, Period: time.Minute, Burst: 10}
	for _, m := range redisModes {
		t.Run(m.name, func(t *testing.T) {
			good := NewRedis(client(t, password), m.name+":", m.opt)
			t.Cleanup(func() { _ = good.Close() })
			if !allow(t, good, "k", l, 1).Allowed {
				t.Fatal("AllowN with the password refused")
			}
			if q := consume(t, good, "q", 1, 5, time.Time{}); !q.Allowed || q.Used != 1 {
				t.Fatalf("Consume with the password = %+v", q)
			}
			setValue(t, good, "v", "x", 0)
			if v, ok := getValue(t, good, "v"); !ok || string(v) != "x" {
				t.Fatalf("Get with the password = %q, %v", v, ok)
			}

			for name, pw := range map[string]string{"WrongPassword": "wrong", "NoPassword": ""} {
				t.Run(name, func(t *testing.T) {
					s := NewRedis(client(t, pw), m.name+":", m.opt)
					t.Cleanup(func() { _ = s.Close() })
					for op, call := range map[string]func(ctx context.Context) error{
						"AllowN": func(ctx context.Context) error {
							r, err := s.AllowN(ctx, "k", l, 1)
							if r.Allowed {
								t.Error("AllowN allowed")
							}
							return err
						},
						"Consume": func(ctx context.Context) error {
							_, err := s.Consume(ctx, "q", 1, 5, time.Time{})
							return err
						},
						"Counter":      func(ctx context.Context) error { _, err := s.Counter(ctx, "q"); return err },
						"Get":          func(ctx context.Context) error { _, _, err := s.Get(ctx, "v"); return err },
						"Set":          func(ctx context.Context) error { return s.Set(ctx, "v", []byte("y"), 0) },
						"Delete":       func(ctx context.Context) error { return s.Delete(ctx, "v") },
						"DeletePrefix": func(ctx context.Context) error { _, err := s.DeletePrefix(ctx, ""); return err },
					} {
						ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
						start := time.Now()
						err := call(ctx)
						d := time.Since(start)
						cancel()
						if !errors.Is(err, ErrUnavailable) {
							t.Fatalf("%s: %v, want an error wrapping ErrUnavailable", op, err)
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
			if v := counterOf(t, good, "q"); v != 1 {
				t.Fatalf("counter = %d, want 1", v)
			}
			if v, ok := getValue(t, good, "v"); !ok || string(v) != "x" {
				t.Fatalf("value = %q, %v, want x", v, ok)
			}
		})
	}
}
