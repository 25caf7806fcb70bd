package apikey

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/keystore"
	"github.com/gatehouse/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// Two gateway instances share Redis: a key revoked through one is refused
// by the other at once, and with Redis down requests fail closed with a
// 503 within the store timeout.
func TestRedisStoreAcrossInstances(t *testing.T) {
	srv := redistest.Start(t)
	newStore := func() *keystore.Redis {
		c := redis.NewClient(&redis.Options{Addr: srv.Addr, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		return keystore.NewRedis(c, "")
	}
	admin, gw := newStore(), newStore()
	// The store timeout also bounds the lookups that must succeed: a
	// second, so a loaded machine does not time them out.
	a := newAuth(t, Config{Store: gw, StoreTimeout: time.Second})

	plain, k, err := admin.Issue(context.Background(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(request("/", "X-Api-Key", plain)); err != nil {
		t.Fatal(err)
	}
	if err := admin.Revoke(context.Background(), "bob", k.ID); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", plain))), 401)

	srv.Stop()
	start := time.Now()
	wantStatus(t, mustFail(a.Authenticate(request("/", "X-Api-Key", plain))), 503)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("fail-closed answer took %v", d)
	}
	// Static keys keep working while the store is down.
	if _, err := a.Authenticate(request("/", "X-Api-Key", staticKeyText)); err != nil {
		t.Fatal(err)
	}
}
