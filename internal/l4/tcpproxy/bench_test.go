package tcpproxy

import (
	"io"
	"net"
	"testing"

	"github.com/gatehouse/gatehouse/internal/l4"
)

// BenchmarkBulk pushes 1 MiB per iteration through one connection into a
// discarding backend, through the proxy (spliced) and directly, for
// comparison; -benchtime=1024x moves 1 GiB. MB/s is the throughput.
func BenchmarkBulk(b *testing.B) {
	received := make(chan int64, 1)
	sink, _ := backend(b, func(c net.Conn) {
		n, _ := io.Copy(io.Discard, c)
		received <- n
	})
	p, _ := newPool(b, "round_robin", sink)
	e := start(b, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	for _, bc := range []struct{ name, addr string }{{"proxy", e.addr}, {"direct", sink}} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := net.Dial("tcp", bc.addr)
			if err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 1<<20)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			c.(*net.TCPConn).CloseWrite()
			if n := <-received; n != int64(b.N)*int64(len(buf)) {
				b.Fatalf("backend received %d bytes, want %d", n, int64(b.N)*int64(len(buf)))
			}
			b.StopTimer()
			c.Close()
		})
	}
}

// BenchmarkShortConns is one connection per iteration: connect through the
// proxy, a 64-byte round trip, close.
func BenchmarkShortConns(b *testing.B) {
	a, _ := backend(b, echo)
	p, _ := newPool(b, "round_robin", a)
	e := start(b, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	msg := string(make([]byte, 64))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			b.Fatal(err)
		}
		roundTrip(b, c, msg)
		c.Close()
	}
}
