package h1client

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
)

const benchResponse = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 13\r\n\r\nHello, World!"

// rawUpstream answers every GET with benchResponse and allocates nothing per
// request, so allocs/op measures the client alone.
func rawUpstream(b *testing.B) string {
	s := newRawServer(b, func(c net.Conn, br *bufio.Reader) {
		resp := []byte(benchResponse)
		for {
			// Read one request head (GET, no body).
			for {
				line, err := br.ReadSlice('\n')
				if err != nil {
					return
				}
				if len(line) == 2 {
					break
				}
			}
			if _, err := c.Write(resp); err != nil {
				return
			}
		}
	})
	return s.URL()
}

func httptestUpstream(b *testing.B) string {
	s := newCountingServer(b, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "Hello, World!")
	})
	return s.URL
}

func benchRoundTrip(b *testing.B, rt http.RoundTripper, url string) {
	// A proxy-shaped request: a handful of headers and a cancellable
	// context (as every server request has), which costs an AfterFunc.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", url+"/api/v1/users?id=42", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "bench/1.0")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("X-Request-Id", "0123456789abcdef")
	b.Run("serial", func(b *testing.B) {
		buf := make([]byte, 32<<10)
		b.ReportAllocs()
		cpu := startCPU()
		for b.Loop() {
			roundTripOnce(b, rt, req, buf)
		}
		cpu.report(b)
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		cpu := startCPU()
		defer cpu.report(b)
		b.RunParallel(func(pb *testing.PB) {
			buf := make([]byte, 32<<10)
			for pb.Next() {
				roundTripOnce(b, rt, req, buf)
			}
		})
	})
}

func roundTripOnce(b *testing.B, rt http.RoundTripper, req *http.Request, buf []byte) {
	resp, err := rt.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyBuffer(io.Discard, resp.Body, buf); err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
}

// BenchmarkRoundTrip measures this transport; BenchmarkRoundTripStdlib runs
// the identical loop through net/http.Transport configured for a proxy.
func BenchmarkRoundTrip(b *testing.B) {
	for _, up := range []struct {
		name string
		url  func(*testing.B) string
	}{{"raw", rawUpstream}, {"httptest", httptestUpstream}} {
		b.Run(up.name, func(b *testing.B) {
			tr := New(Config{})
			defer tr.CloseIdleConnections()
			benchRoundTrip(b, tr, up.url(b))
		})
	}
}

func BenchmarkRoundTripStdlib(b *testing.B) {
	for _, up := range []struct {
		name string
		url  func(*testing.B) string
	}{{"raw", rawUpstream}, {"httptest", httptestUpstream}} {
		b.Run(up.name, func(b *testing.B) {
			tr := &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}
			defer tr.CloseIdleConnections()
			benchRoundTrip(b, tr, up.url(b))
		})
	}
}

// BenchmarkUpload streams 4 MiB request bodies; it is how writeBufferSize
// was chosen.
func BenchmarkUpload(b *testing.B) {
	s := newCountingServer(b, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	})
	payload := bytes.Repeat([]byte("x"), 4<<20)
	for _, rt := range []struct {
		name string
		rt   http.RoundTripper
	}{{"h1client", New(Config{})}, {"stdlib", &http.Transport{}}} {
		for _, chunked := range []bool{false, true} {
			name := rt.name + "/length"
			if chunked {
				name = rt.name + "/chunked"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(payload)))
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequest("POST", s.URL, io.NopCloser(onlyReader{bytes.NewReader(payload)}))
					req.ContentLength = int64(len(payload))
					if chunked {
						req.ContentLength = -1
					}
					resp, err := rt.rt.RoundTrip(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	}
}

// BenchmarkIdleProbe measures the readability check each checkout of a
// pooled connection pays (stale.go): one non-blocking read(2).
func BenchmarkIdleProbe(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	if sc := <-accepted; sc != nil {
		defer sc.Close()
	}
	var p probeConn
	p.init(nc)
	b.ReportAllocs()
	for b.Loop() {
		if !p.alive() {
			b.Fatal("idle connection reported dead")
		}
	}
}
