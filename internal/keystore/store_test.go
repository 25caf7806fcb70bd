package keystore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// harness builds stores of one implementation for the shared behaviour
// tests.
type harness struct {
	// open returns a fresh, empty store.
	open func(t *testing.T) Store
	// reopen closes s and opens the same storage again.
	reopen func(t *testing.T, s Store) Store
	// peer returns a second instance sharing s's storage, or nil when the
	// implementation is single-process.
	peer func(t *testing.T, s Store) Store
}

// behaviours is the table every Store implementation must pass.
var behaviours = []struct {
	name string
	run  func(t *testing.T, h harness)
}{
	{"Issue", testIssue},
	{"IssueEmptyConsumer", testIssueEmptyConsumer},
	{"Lookup", testLookup},
	{"List", testList},
	{"Revoke", testRevoke},
	{"RevokeUnknown", testRevokeUnknown},
	{"Persistence", testPersistence},
	{"RevokeSeenByPeer", testRevokeSeenByPeer},
	{"Concurrent", testConcurrent},
}

func runBehaviours(t *testing.T, h harness) {
	for _, b := range behaviours {
		t.Run(b.name, func(t *testing.T) { b.run(t, h) })
	}
}

func sameKey(t *testing.T, got, want Key) {
	t.Helper()
	if got.ID != want.ID || got.Consumer != want.Consumer || got.Hash != want.Hash ||
		got.Prefix != want.Prefix || !got.Created.Equal(want.Created) {
		t.Fatalf("key = %+v, want %+v", got, want)
	}
}

func issue(t *testing.T, s Store, consumer string) (string, Key) {
	t.Helper()
	plain, k, err := s.Issue(context.Background(), consumer)
	if err != nil {
		t.Fatalf("Issue(%q): %v", consumer, err)
	}
	return plain, k
}

func mustLookup(t *testing.T, s Store, plain string) (Key, bool) {
	t.Helper()
	k, ok, err := s.Lookup(context.Background(), HashKey(plain))
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	return k, ok
}

func testIssue(t *testing.T, h harness) {
	s := h.open(t)
	plain, k := issue(t, s, "alice")
	if !strings.HasPrefix(plain, "gh_") || len(plain) != 3+43 {
		t.Fatalf("plain key %q: want gh_ + 43 base64url characters", plain)
	}
	if strings.ContainsAny(plain[3:], "+/=") {
		t.Fatalf("plain key %q is not unpadded base64url", plain)
	}
	if k.Hash != HashKey(plain) {
		t.Fatal("Key.Hash is not the SHA-256 of the plain key")
	}
	if k.Prefix != plain[:8] || k.Consumer != "alice" || k.ID == "" || k.Created.IsZero() {
		t.Fatalf("key = %+v", k)
	}
	plain2, k2 := issue(t, s, "alice")
	if plain2 == plain || k2.ID == k.ID {
		t.Fatal("two issues returned the same key or id")
	}
}

func testIssueEmptyConsumer(t *testing.T, h harness) {
	s := h.open(t)
	if _, _, err := s.Issue(context.Background(), ""); err == nil {
		t.Fatal("Issue with an empty consumer succeeded")
	}
}

func testLookup(t *testing.T, h harness) {
	s := h.open(t)
	plain, want := issue(t, s, "alice")
	got, ok := mustLookup(t, s, plain)
	if !ok {
		t.Fatal("issued key not found")
	}
	sameKey(t, got, want)
	if _, ok := mustLookup(t, s, plain+"x"); ok {
		t.Fatal("unknown key found")
	}
	if _, ok := mustLookup(t, s, ""); ok {
		t.Fatal("empty key found")
	}
}

func testList(t *testing.T, h harness) {
	s := h.open(t)
	var want []Key
	for range 3 {
		_, k := issue(t, s, "alice")
		want = append(want, k)
	}
	issue(t, s, "bob")
	got, err := s.List(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("List returned %d keys, want %d", len(got), len(want))
	}
	for i := range got {
		sameKey(t, got[i], want[i]) // issue order is Created order
	}
	none, err := s.List(context.Background(), "nobody")
	if err != nil || len(none) != 0 {
		t.Fatalf("List(nobody) = %v, %v; want empty", none, err)
	}
}

func testRevoke(t *testing.T, h harness) {
	s := h.open(t)
	ctx := context.Background()
	plain, k := issue(t, s, "alice")
	keep, kk := issue(t, s, "alice")
	if err := s.Revoke(ctx, "bob", k.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Revoke by another consumer: %v, want ErrNotFound", err)
	}
	if _, ok := mustLookup(t, s, plain); !ok {
		t.Fatal("another consumer's Revoke removed the key")
	}
	if err := s.Revoke(ctx, "alice", k.ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustLookup(t, s, plain); ok {
		t.Fatal("revoked key still found")
	}
	if _, ok := mustLookup(t, s, keep); !ok {
		t.Fatal("Revoke removed the consumer's other key")
	}
	list, err := s.List(ctx, "alice")
	if err != nil || len(list) != 1 || list[0].ID != kk.ID {
		t.Fatalf("List after revoke = %v, %v", list, err)
	}
	if err := s.Revoke(ctx, "alice", k.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Revoke: %v, want ErrNotFound", err)
	}
}

func testRevokeUnknown(t *testing.T, h harness) {
	s := h.open(t)
	if err := s.Revoke(context.Background(), "alice", "0123456789abcdef"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Revoke unknown: %v, want ErrNotFound", err)
	}
}

func testPersistence(t *testing.T, h harness) {
	s := h.open(t)
	plain, k := issue(t, s, "alice")
	gone, g := issue(t, s, "alice")
	if err := s.Revoke(context.Background(), "alice", g.ID); err != nil {
		t.Fatal(err)
	}
	s = h.reopen(t, s)
	got, ok := mustLookup(t, s, plain)
	if !ok {
		t.Fatal("key lost across reopen")
	}
	sameKey(t, got, k)
	if _, ok := mustLookup(t, s, gone); ok {
		t.Fatal("revoked key back after reopen")
	}
	list, err := s.List(context.Background(), "alice")
	if err != nil || len(list) != 1 {
		t.Fatalf("List after reopen = %v, %v", list, err)
	}
	sameKey(t, list[0], k)
}

func testRevokeSeenByPeer(t *testing.T, h harness) {
	if h.peer == nil {
		t.Skip("single-process store")
	}
	a := h.open(t)
	b := h.peer(t, a)
	plain, k := issue(t, a, "alice")
	if _, ok := mustLookup(t, b, plain); !ok {
		t.Fatal("peer does not see an issued key")
	}
	if err := b.Revoke(context.Background(), "alice", k.ID); err != nil {
		t.Fatal(err)
	}
	// No waiting: the requirement is one second, the store promises at once.
	if _, ok := mustLookup(t, a, plain); ok {
		t.Fatal("instance still accepts a key its peer revoked")
	}
}

func testConcurrent(t *testing.T, h harness) {
	s := h.open(t)
	plain, _ := issue(t, s, "alice")
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if _, ok, err := s.Lookup(context.Background(), HashKey(plain)); err != nil || !ok {
					errs <- errors.New("lookup failed during concurrent issue/revoke")
					return
				}
			}
		})
		wg.Go(func() {
			for range 5 {
				_, k, err := s.Issue(context.Background(), "bob")
				if err == nil {
					err = s.Revoke(context.Background(), "bob", k.ID)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if list, _ := s.List(context.Background(), "bob"); len(list) != 0 {
		t.Fatalf("bob has %d keys left", len(list))
	}
}
