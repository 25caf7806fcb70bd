package keystore

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

func newClient(t testing.TB, addr string) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	return c
}

func redisHarness(srv *redistest.Server) harness {
	// Each test gets its own prefix on the shared server, so tests start
	// empty without flushing.
	return harness{
		open: func(t *testing.T) Store {
			return NewRedis(newClient(t, srv.Addr), "test:"+t.Name()+":")
		},
		reopen: func(t *testing.T, s Store) Store {
			s.Close()
			return NewRedis(newClient(t, srv.Addr), s.(*Redis).prefix)
		},
		peer: func(t *testing.T, s Store) Store {
			return NewRedis(newClient(t, srv.Addr), s.(*Redis).prefix)
		},
	}
}

func TestRedis(t *testing.T) {
	srv := redistest.Start(t)
	runBehaviours(t, redisHarness(srv))
}

func TestRedisDefaultPrefixAndLayout(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	s := NewRedis(c, "")
	ctx := context.Background()
	plain, k, err := s.Issue(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys = %v", keys)
	}
	kk := "gatehouse:apikey:" + hexHash(k.Hash)
	m, err := c.HGetAll(ctx, kk).Result()
	if err != nil || m["id"] != k.ID || m["consumer"] != "alice" || m["prefix"] != plain[:8] {
		t.Fatalf("%s = %v, %v", kk, m, err)
	}
	if got, _ := c.HGet(ctx, "gatehouse:consumer:alice:keys", k.ID).Result(); got != hexHash(k.Hash) {
		t.Fatalf("consumer index = %q", got)
	}
	// The plain key is nowhere in Redis.
	for _, key := range keys {
		vals, _ := c.HGetAll(ctx, key).Result()
		for f, v := range vals {
			if strings.Contains(f, plain[3:]) || strings.Contains(v, plain[3:]) {
				t.Fatalf("plain key stored in %s", key)
			}
		}
	}
}

func hexHash(h [32]byte) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for _, c := range h {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

func TestRedisPrefixesAreIsolated(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	a, b := NewRedis(c, "a:"), NewRedis(c, "b:")
	plain, _ := issue(t, a, "alice")
	if _, ok := mustLookup(t, b, plain); ok {
		t.Fatal("key visible under another prefix")
	}
}

func TestRedisCorruptRecordIsAnError(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv.Addr)
	s := NewRedis(c, "")
	ctx := context.Background()
	h := HashKey("gh_whatever")
	c.HSet(ctx, "gatehouse:apikey:"+hexHash(h), "id", "x")
	if _, ok, err := s.Lookup(ctx, h); err == nil || ok {
		t.Fatalf("corrupt record: ok=%v err=%v, want an error", ok, err)
	}
	// A consumer index pointing at a malformed hash must not panic List.
	c.HSet(ctx, "gatehouse:consumer:bob:keys", "id1", strings.Repeat("ab", 40))
	c.HSet(ctx, "gatehouse:apikey:"+strings.Repeat("ab", 40), "id", "id1", "consumer", "bob", "created", "1")
	if _, err := s.List(ctx, "bob"); err == nil {
		t.Fatal("List with a malformed hash: no error")
	}
}

func TestRedisDownLookupFailsFast(t *testing.T) {
	srv := redistest.Start(t)
	// The timeouts also bound the calls that must succeed (the issue,
	// the lookup after the restart, with no retry): a second, not less,
	// so a loaded machine does not fail them.
	c := redis.NewClient(&redis.Options{
		Addr:        srv.Addr,
		DialTimeout: time.Second,
		ReadTimeout: time.Second,
		MaxRetries:  -1,
	})
	defer c.Close()
	s := NewRedis(c, "")
	plain, _ := issue(t, s, "alice")
	srv.Stop()
	start := time.Now()
	_, ok, err := s.Lookup(context.Background(), HashKey(plain))
	if err == nil {
		t.Fatalf("Lookup with Redis down: ok=%v, no error", ok)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("Lookup with Redis down took %v", d)
	}
	// And it recovers once Redis is back (empty: no persistence).
	srv.Restart()
	if _, _, err := s.Lookup(context.Background(), HashKey(plain)); err != nil {
		t.Fatalf("Lookup after restart: %v", err)
	}
}

// A server that accepts connections and never answers: the client's
// ReadTimeout is long, ctx's deadline is short, and Lookup must honour ctx.
func TestRedisLookupHonoursContextDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	defer func() {
		l.Close()
		<-accepted
		for _, c := range conns {
			c.Close()
		}
	}()
	c := redis.NewClient(&redis.Options{
		Addr: l.Addr().String(), ReadTimeout: 3 * time.Second, MaxRetries: -1,
		Protocol: 2, DisableIdentity: true,
	})
	defer c.Close()
	s := NewRedis(c, "")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err = s.Lookup(ctx, HashKey("gh_x"))
	if err == nil {
		t.Fatal("Lookup against a silent server: no error")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Lookup took %v despite a 100ms deadline", d)
	}
}

func BenchmarkRedisLookup(b *testing.B) {
	srv := redistest.Start(b)
	s := NewRedis(newClient(b, srv.Addr), "")
	plain, _, err := s.Issue(context.Background(), "alice")
	if err != nil {
		b.Fatal(err)
	}
	h := HashKey(plain)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, err := s.Lookup(ctx, h); !ok || err != nil {
			b.Fatal("miss", err)
		}
	}
}
