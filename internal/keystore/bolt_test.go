package keystore

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func boltHarness() harness {
	return harness{
		open: func(t *testing.T) Store {
			s, err := OpenBolt(filepath.Join(t.TempDir(), "keys.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		reopen: func(t *testing.T, s Store) Store {
			path := s.(*Bolt).db.Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s2, err := OpenBolt(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s2.Close() })
			return s2
		},
	}
}

func TestBolt(t *testing.T) { runBehaviours(t, boltHarness()) }

func TestBoltCreatesDirAndFileMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "keys.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Fatalf("file mode %v, want 0600", m)
	}
}

func TestBoltLockedFileFailsClearly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// flock locks are per open file, so a second open in this process
	// contends like a second process would.
	start := time.Now()
	_, err = OpenBolt(path)
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second open: %v, want a lock error", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second open took %v", d)
	}
}

func TestBoltStoresNoPlainKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.db")
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	plain, _, err := s.Issue(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(plain)) || bytes.Contains(b, []byte(plain[3:])) {
		t.Fatal("plain key written to the file")
	}
}

func TestBoltClosed(t *testing.T) {
	s, err := OpenBolt(filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	plain, _, _ := s.Issue(context.Background(), "alice")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, _, err := s.Lookup(context.Background(), HashKey(plain)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Lookup after Close: %v", err)
	}
	if _, _, err := s.Issue(context.Background(), "alice"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Issue after Close: %v", err)
	}
	if err := s.Revoke(context.Background(), "alice", "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Revoke after Close: %v", err)
	}
	if _, err := s.List(context.Background(), "alice"); !errors.Is(err, ErrClosed) {
		t.Fatalf("List after Close: %v", err)
	}
}

func TestBoltLookupDoesNotAllocate(t *testing.T) {
	s, err := OpenBolt(filepath.Join(t.TempDir(), "keys.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	plain, _, _ := s.Issue(context.Background(), "alice")
	h := HashKey(plain)
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { s.Lookup(ctx, h) }); n != 0 {
		t.Fatalf("Lookup allocates %v times", n)
	}
}

func BenchmarkBoltLookup(b *testing.B) {
	s, err := OpenBolt(filepath.Join(b.TempDir(), "keys.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for range 1000 {
		s.Issue(context.Background(), "alice")
	}
	plain, _, _ := s.Issue(context.Background(), "alice")
	h := HashKey(plain)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok, _ := s.Lookup(ctx, h); !ok {
			b.Fatal("miss")
		}
	}
}
