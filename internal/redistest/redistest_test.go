package redistest

import (
	"os/exec"
	"testing"
)

func TestStartAnswersPing(t *testing.T) {
	s := Start(t)
	if err := ping(s.Addr); err != nil {
		t.Fatalf("ping %s: %v", s.Addr, err)
	}
}

func TestStopAndRestart(t *testing.T) {
	s := Start(t)
	addr := s.Addr
	s.Stop()
	if err := ping(addr); err == nil {
		t.Fatal("server still answers after Stop")
	}
	s.Stop() // idempotent
	s.Restart()
	if s.Addr != addr {
		t.Fatalf("Restart moved the server from %s to %s", addr, s.Addr)
	}
	if err := ping(addr); err != nil {
		t.Fatalf("ping after Restart: %v", err)
	}
	s.Restart() // restart a running server
	if err := ping(addr); err != nil {
		t.Fatalf("ping after second Restart: %v", err)
	}
}

func TestTwoServersAreIndependent(t *testing.T) {
	a, b := Start(t), Start(t)
	if a.Addr == b.Addr {
		t.Fatalf("both servers on %s", a.Addr)
	}
	a.Stop()
	if err := ping(b.Addr); err != nil {
		t.Fatalf("stopping one server affected the other: %v", err)
	}
}

// fakeTB records Skip/Fatal from Start without ending the real test.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true; panic(fakeStop{}) }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true; panic(fakeStop{}) }
func (f *fakeTB) TempDir() string       { panic("unexpected TempDir") }
func (f *fakeTB) Cleanup(func())        {}

type fakeStop struct{}

func runStart(tb *fakeTB) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(fakeStop); !ok {
				panic(r)
			}
		}
	}()
	Start(tb)
}

func TestMissingBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no redis-server here
	if _, err := exec.LookPath("redis-server"); err == nil {
		t.Fatal("redis-server still on PATH")
	}

	t.Setenv(RequireEnv, "")
	tb := &fakeTB{TB: t}
	runStart(tb)
	if !tb.skipped || tb.failed {
		t.Fatalf("without %s: skipped=%v failed=%v, want skip", RequireEnv, tb.skipped, tb.failed)
	}

	t.Setenv(RequireEnv, "1")
	tb = &fakeTB{TB: t}
	runStart(tb)
	if tb.skipped || !tb.failed {
		t.Fatalf("with %s=1: skipped=%v failed=%v, want fail", RequireEnv, tb.skipped, tb.failed)
	}
}
