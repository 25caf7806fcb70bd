package clienthello

import (
	"bytes"
	"crypto/tls"
	"slices"
	"testing"
)

// FuzzRead checks that Read never panics, never consumes more than
// MaxHelloBytes, returns exactly the bytes it consumed, reads a non-TLS
// stream with one Read, and agrees with crypto/tls: whenever crypto/tls's
// server accepts the bytes as a ClientHello (it reaches
// GetConfigForClient), Read accepts them too, with the same server name
// (lower-cased) and ALPN list. Seeds: testdata/fuzz/FuzzRead (real hellos
// from crypto/tls clients, split records, edge cases) and the hellos
// below, made by this Go version's client.
func FuzzRead(f *testing.F) {
	f.Add(realHello(f, &tls.Config{ServerName: "a.example", NextProtos: []string{"h2", "http/1.1"}}))
	f.Add(reframe(f, realHello(f, &tls.Config{ServerName: "split.example"}), 200))
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		info, read, err := Read(cr)
		if cr.n > MaxHelloBytes || len(read) != cr.n || !bytes.Equal(read, data[:cr.n]) {
			t.Fatalf("consumed %d, returned %d bytes (limit %d)", cr.n, len(read), MaxHelloBytes)
		}
		if len(data) > 0 && data[0] != recordTypeHandshake && (err != nil || info.TLS || cr.reads != 1) {
			t.Fatalf("non-TLS stream: info=%+v err=%v reads=%d", info, err, cr.reads)
		}
		if err != nil && (info.TLS || info.ServerName != "" || info.ALPN != nil) {
			t.Fatalf("error %v with info %+v", err, info)
		}
		// crypto/tls's handshake limit (64 KiB body) and ours (64 KiB
		// with record headers) differ by a few bytes: compare below both.
		if len(data) > MaxHelloBytes-1024 {
			return
		}
		hello, ok := tlsView(data)
		if !ok {
			return
		}
		if err != nil || !info.TLS {
			t.Fatalf("crypto/tls accepts (SNI %q), Read says %+v, %v", hello.ServerName, info, err)
		}
		if asciiLower(hello.ServerName) != info.ServerName || !slices.Equal(hello.SupportedProtos, info.ALPN) {
			t.Fatalf("crypto/tls: SNI %q ALPN %q; Read: %+v", hello.ServerName, hello.SupportedProtos, info)
		}
	})
}
