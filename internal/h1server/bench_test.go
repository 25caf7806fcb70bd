package h1server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
)

// benchRequest is a proxy-shaped GET: a handful of headers, keep-alive.
const benchRequest = "GET /api/v1/users?id=42 HTTP/1.1\r\nHost: bench.local\r\nUser-Agent: bench/1.0\r\n" +
	"Accept: application/json\r\nX-Forwarded-For: 10.0.0.1\r\nX-Request-Id: 0123456789abcdef\r\n\r\n"

// BenchmarkServe measures a keep-alive GET loop over loopback against
// h1server. The client is a raw, allocation-free HTTP/1.1 loop in the same
// process, so allocs/op is the server's and cpu-ns/op (process CPU time per
// request, client included) compares servers on equal terms.
func BenchmarkServe(b *testing.B) {
	ln := listen(b)
	s := New(http.HandlerFunc(hello), Config{ReadHeaderTimeout: 10e9, IdleTimeout: 60e9})
	go s.Serve(ln)
	defer func() { s.Close() }()
	benchClients(b, ln.Addr().String())
}

// BenchmarkServeStdlib is the same handler on net/http.
func BenchmarkServeStdlib(b *testing.B) {
	ln := listen(b)
	s := &http.Server{Handler: http.HandlerFunc(hello), ReadHeaderTimeout: 10e9, IdleTimeout: 60e9}
	go s.Serve(ln)
	defer s.Close()
	benchClients(b, ln.Addr().String())
}

func listen(b *testing.B) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

func benchClients(b *testing.B, addr string) {
	b.Run("serial", func(b *testing.B) {
		c := dialBench(b, addr)
		defer c.nc.Close()
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			c.roundTrip(b)
		}
		cpu.report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(4) // 8 connections on 2 cores, like wrk -c
		cpu := startCPU()
		b.RunParallel(func(pb *testing.PB) {
			c := dialBench(b, addr)
			defer c.nc.Close()
			for pb.Next() {
				c.roundTrip(b)
			}
		})
		cpu.report(b)
	})
}

type benchConn struct {
	nc  net.Conn
	br  *bufio.Reader
	req []byte
}

func dialBench(b *testing.B, addr string) *benchConn {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	return &benchConn{nc: nc, br: bufio.NewReaderSize(nc, 4096), req: []byte(benchRequest)}
}

var clPrefix = []byte("Content-Length: ")

func (c *benchConn) roundTrip(b *testing.B) {
	if _, err := c.nc.Write(c.req); err != nil {
		b.Fatal(err)
	}
	cl := -1
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			b.Fatal(err)
		}
		if len(line) <= 2 {
			break
		}
		if bytes.HasPrefix(line, clPrefix) {
			cl, _ = strconv.Atoi(string(bytes.TrimSpace(line[len(clPrefix):])))
		}
	}
	if cl < 0 {
		b.Fatal("no Content-Length")
	}
	if _, err := c.br.Discard(cl); err != nil {
		b.Fatal(err)
	}
}

var _ = io.Discard
