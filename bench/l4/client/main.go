// Command client is the load generator of bench/l4/compare.sh.
//
//	client -mode bulk  -addr HOST:PORT -bytes N   read N bytes on one connection; prints GB/s (10^9 bytes/s)
//	client -mode conns -addr HOST:PORT -c C -d T  C workers open connections for T: connect, 64 bytes
//	                                              each way, close; prints "CONNS_PER_SECOND ERRORS"
//	client -mode once  -addr HOST:PORT            one 64-byte exchange; exit status 0 when it worked
//
// Only loopback addresses are accepted.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	mode := flag.String("mode", "bulk", "bulk, conns or once")
	addr := flag.String("addr", "", "target host:port (loopback only)")
	n := flag.Int64("bytes", 4<<30, "bulk: bytes to read")
	conc := flag.Int("c", 32, "conns: concurrent workers")
	dur := flag.Duration("d", 10*time.Second, "conns: duration")
	flag.Parse()
	ap, err := netip.ParseAddrPort(*addr)
	if err != nil || !ap.Addr().IsLoopback() {
		fail("-addr %q: want a loopback host:port", *addr)
	}
	switch *mode {
	case "bulk":
		bulk(*addr, *n)
	case "conns":
		conns(*addr, *conc, *dur)
	case "once":
		if err := exchange(*addr, payload()); err != nil {
			fail("%v", err)
		}
	default:
		fail("unknown -mode %q", *mode)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "client: "+format+"\n", args...)
	os.Exit(1)
}

func bulk(addr string, n int64) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fail("%v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Minute))
	buf := make([]byte, 1<<20)
	start := time.Now()
	var got int64
	for got < n {
		want := min(int64(len(buf)), n-got)
		k, err := c.Read(buf[:want])
		got += int64(k)
		if err != nil {
			fail("after %d of %d bytes: %v", got, n, err)
		}
	}
	fmt.Printf("%.3f\n", float64(n)/time.Since(start).Seconds()/1e9)
}

func payload() []byte { return bytes.Repeat([]byte("0123456789abcdef"), 4) } // 64 bytes

// exchange makes one connection: 64 bytes out, the same 64 back, close.
func exchange(addr string, msg []byte) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(msg); err != nil {
		return err
	}
	var buf [64]byte
	if _, err := io.ReadFull(c, buf[:]); err != nil {
		return err
	}
	if !bytes.Equal(buf[:], msg) {
		return fmt.Errorf("echo mismatch: %q", buf[:])
	}
	return nil
}

func conns(addr string, workers int, d time.Duration) {
	var ok, bad atomic.Int64
	var firstErr sync.Once
	msg := payload()
	deadline := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if err := exchange(addr, msg); err != nil {
					bad.Add(1)
					firstErr.Do(func() { fmt.Fprintln(os.Stderr, "client: first error:", err) })
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	fmt.Printf("%.0f %d\n", float64(ok.Load())/time.Since(start).Seconds(), bad.Load())
}
