package health

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestTCPCheck(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	p := newTCPProber(CheckConfig{Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.check(ctx, newTarget(t, "http://"+ln.Addr().String())); err != nil {
		t.Fatalf("listening target: %v", err)
	}
	<-accepted
	if err := p.check(ctx, newTarget(t, "http://"+closedAddr(t))); err == nil {
		t.Fatal("closed port passed the TCP check")
	}
}

// TestTCPCheckerClosedPort: a checker of a port nobody listens on takes
// the target out after UnhealthyThreshold failures.
func TestTCPCheckerClosedPort(t *testing.T) {
	reg, _, logs := testRegistry(t)
	tg := newTarget(t, "http://"+closedAddr(t))
	c, err := NewChecker(reg, fastCheck(CheckConfig{Type: "tcp", UnhealthyThreshold: 2}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	c.Update([]*balancer.Target{tg})
	waitFor(t, "closed port to go down", func() bool { return !tg.Available() })
	attrs, ok := logs.find("target failed active health check")
	if !ok || attrs["consecutive_failures"] != "2" || attrs["reason"] == "" {
		t.Fatalf("transition log = %v, %v", attrs, ok)
	}
}
