package health

import (
	"errors"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// udpServer answers every datagram with reply(datagram), or not at all
// when reply returns nil. It stops at test cleanup.
func udpServer(t *testing.T, reply func([]byte) []byte) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				_, _ = pc.WriteTo(r, from)
			}
		}
	}()
	t.Cleanup(func() { pc.Close(); wg.Wait() })
	return pc.LocalAddr().String()
}

// closedUDPAddr returns a loopback UDP address nothing listens on.
func closedUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	pc.Close()
	return addr
}

// probeUDP runs one udp check of target with cfg and timeout.
func probeUDP(t *testing.T, cfg CheckConfig, target string, timeout time.Duration) error {
	t.Helper()
	cfg.Type = CheckUDP
	return probeOnce(t, cfg, target, timeout, func(c CheckConfig) prober { return newUDPProber(c) })
}

// TestUDPCheck: Send reaches the target; the reply must contain Expect
// (empty = any reply); silence until the timeout and an ICMP port
// unreachable both fail.
func TestUDPCheck(t *testing.T) {
	got := make(chan string, 16)
	echo := udpServer(t, func(b []byte) []byte {
		got <- string(b)
		return append([]byte("PONG "), b...)
	})
	if err := probeUDP(t, CheckConfig{Send: "PING", Expect: "PONG PING"}, "udp://"+echo, 10*time.Second); err != nil {
		t.Fatalf("expected reply: %v", err)
	}
	if s := <-got; s != "PING" {
		t.Fatalf("target received %q, want the Send datagram", s)
	}
	if err := probeUDP(t, CheckConfig{Send: "PING"}, "udp://"+echo, 10*time.Second); err != nil {
		t.Fatalf("any reply with no Expect: %v", err)
	}
	if err := probeUDP(t, CheckConfig{Send: "PING", Expect: "READY"}, "udp://"+echo, 10*time.Second); err == nil || !strings.Contains(err.Error(), "READY") {
		t.Fatalf("reply without Expect: err = %v", err)
	}

	silent := udpServer(t, func([]byte) []byte { return nil })
	start := time.Now()
	err := probeUDP(t, CheckConfig{Send: "PING"}, "udp://"+silent, 200*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("silent target: err = %v, want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("silent target took %v: the check's timeout was not applied", d)
	}

	// ICMP port unreachable arrives as ECONNREFUSED long before the
	// generous timeout.
	err = probeUDP(t, CheckConfig{Send: "PING"}, "udp://"+closedUDPAddr(t), 30*time.Second)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("closed port: err = %v, want ECONNREFUSED", err)
	}
}

// TestUDPCheckNeedsSend: a udp check without a datagram to send is a
// configuration error, not an empty probe.
func TestUDPCheckNeedsSend(t *testing.T) {
	if err := (CheckConfig{Type: "udp"}).Validate(); err == nil || !strings.Contains(err.Error(), "send") {
		t.Fatalf("udp check without send: err = %v", err)
	}
	if err := (CheckConfig{Type: "udp", Send: strings.Repeat("x", maxDatagram+1)}).Validate(); err == nil {
		t.Fatal("udp check with a send larger than a datagram accepted")
	}
	if err := (CheckConfig{Type: "udp", Send: "PING"}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// TestUDPChecker: NewChecker runs the udp check for Type "udp": the
// target that does not answer goes down, the one that does stays up.
func TestUDPChecker(t *testing.T) {
	var mu sync.Mutex
	answered := 0
	echo := udpServer(t, func(b []byte) []byte {
		mu.Lock()
		answered++
		mu.Unlock()
		return []byte("OK")
	})
	reg, _, _ := testRegistry(t)
	up := newTarget(t, "udp://"+echo)
	down := newTarget(t, "udp://"+closedUDPAddr(t))
	c, err := NewChecker(reg, fastCheck(CheckConfig{Type: "udp", Send: "PING", Expect: "OK", UnhealthyThreshold: 2}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	c.Update([]*balancer.Target{up, down})
	waitFor(t, "closed UDP port to go down", func() bool { return !down.Available() })
	// Checks of one target run in sequence: a fourth probe proves three
	// recorded results, more than UnhealthyThreshold.
	waitFor(t, "four checks of the answering target", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return answered >= 4
	})
	if !up.Available() {
		t.Fatal("answering UDP target went down")
	}
}
