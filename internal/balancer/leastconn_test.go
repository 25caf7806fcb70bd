package balancer

import (
	"crypto/tls"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// TestLeastConnections: the L4 name picks the target with the fewest
// open connections (Begin at connect, End at close).
func TestLeastConnections(t *testing.T) {
	ts := targets(1, 1, 1)
	b, err := New("least_connections", ts)
	if err != nil {
		t.Fatal(err)
	}
	ts[0].Begin()
	ts[0].Begin()
	ts[2].Begin()
	for range 20 {
		if got := b.Pick(nil, nil); got != ts[1] {
			t.Fatalf("picked %s, want the target with no connections", got.Addr)
		}
	}
	ts[1].Begin()
	ts[1].Begin()
	ts[2].End()
	for range 20 {
		if got := b.Pick(nil, nil); got != ts[2] {
			t.Fatalf("picked %s after a close, want the target with none open", got.Addr)
		}
	}
}

func TestHashKeySNI(t *testing.T) {
	b := mustHash(t, targets(1, 1), Options{HashOn: HashOnSNI})
	r := httptestRequest("/")
	r.TLS = &tls.ConnectionState{ServerName: "db.example.com"}
	if keyOf(t, b, r) != xxhash.Sum64String("db.example.com") {
		t.Fatal("server name not the key")
	}
	plain := httptestRequest("/")
	if _, ok := b.key(plain); ok {
		t.Fatal("key without TLS")
	}
}
