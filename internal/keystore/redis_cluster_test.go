package keystore

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse/gatehouse/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// clusterHarness runs the shared behaviours on a Cluster; every store,
// peer and reopened store has its own client, as separate gateway
// instances would.
func clusterHarness(cluster *redistest.Cluster) harness {
	return harness{
		open: func(t *testing.T) Store {
			return NewRedis(cluster.Client(t), "test:"+t.Name()+":")
		},
		reopen: func(t *testing.T, s Store) Store {
			s.Close()
			return NewRedis(cluster.Client(t), s.(*Redis).prefix)
		},
		peer: func(t *testing.T, s Store) Store {
			return NewRedis(cluster.Client(t), s.(*Redis).prefix)
		},
	}
}

// TestRedisCluster: issue, lookup, list, revoke (seen by a peer at
// once) and the rest of the behaviours on a 3-master Cluster.
func TestRedisCluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	runBehaviours(t, clusterHarness(cluster))
	t.Run("KeysOnEveryMaster", func(t *testing.T) { testClusterSpread(t, cluster) })
}

// testClusterSpread: a consumer's keys live on several masters, apart
// from its index, and List, Lookup and Revoke still find them all.
func testClusterSpread(t *testing.T, cluster *redistest.Cluster) {
	c := cluster.Client(t)
	s := NewRedis(c, "spread:")
	peer := NewRedis(cluster.Client(t), "spread:")
	ctx := context.Background()
	plains := map[string]string{} // id → plain
	nodes := map[string]bool{}
	for len(nodes) < 3 || len(plains) < 6 {
		if len(plains) == 100 {
			t.Fatalf("100 keys on %d masters", len(nodes))
		}
		plain, k := issue(t, s, "alice")
		plains[k.ID] = plain
		n, err := c.MasterForKey(ctx, s.keyKey(hexHash(k.Hash)))
		if err != nil {
			t.Fatal(err)
		}
		nodes[n.Options().Addr] = true
	}
	list, err := peer.List(ctx, "alice")
	if err != nil || len(list) != len(plains) {
		t.Fatalf("List = %d keys, %v; want %d", len(list), err, len(plains))
	}
	for id, plain := range plains {
		k, ok := mustLookup(t, peer, plain)
		if !ok || k.ID != id {
			t.Fatalf("peer Lookup(%s) = %+v, %v", id, k, ok)
		}
	}
	for id, plain := range plains {
		if err := peer.Revoke(ctx, "alice", id); err != nil {
			t.Fatalf("Revoke(%s): %v", id, err)
		}
		if _, ok := mustLookup(t, s, plain); ok {
			t.Fatalf("key %s still accepted by the other instance after Revoke", id)
		}
		if err := s.Revoke(ctx, "alice", id); !errors.Is(err, ErrNotFound) {
			t.Fatalf("second Revoke(%s) = %v, want ErrNotFound", id, err)
		}
	}
	if list, err := s.List(ctx, "alice"); err != nil || len(list) != 0 {
		t.Fatalf("List after revoking all = %v, %v", list, err)
	}
}

// TestRedisHalfRevokedKeyRecovers: Revoke deletes the apikey record,
// then the index entry; if it fails in between, the entry left behind
// must not show in List and a retried Revoke must finish the job. The
// state is made by hand, on standalone and on Cluster.
func TestRedisHalfRevokedKeyRecovers(t *testing.T) {
	srv := redistest.Start(t)
	cluster := redistest.StartCluster(t, 3)
	for name, c := range map[string]redis.UniversalClient{
		"Standalone": newClient(t, srv.Addr),
		"Cluster":    cluster.Client(t),
	} {
		t.Run(name, func(t *testing.T) {
			s := NewRedis(c, "half:")
			ctx := context.Background()
			plain, k := issue(t, s, "alice")
			_, keep := issue(t, s, "alice")
			// The first step of Revoke, alone.
			if err := c.Del(ctx, s.keyKey(hexHash(k.Hash))).Err(); err != nil {
				t.Fatal(err)
			}
			if _, ok := mustLookup(t, s, plain); ok {
				t.Fatal("key with its record deleted still found")
			}
			list, err := s.List(ctx, "alice")
			if err != nil || len(list) != 1 || list[0].ID != keep.ID {
				t.Fatalf("List with a dangling index entry = %v, %v; want only %s", list, err, keep.ID)
			}
			if err := s.Revoke(ctx, "alice", k.ID); err != nil {
				t.Fatalf("retried Revoke: %v", err)
			}
			if n, _ := c.HLen(ctx, s.consumerKey("alice")).Result(); n != 1 {
				t.Fatalf("index holds %d entries after the retried Revoke, want 1", n)
			}
		})
	}
}
