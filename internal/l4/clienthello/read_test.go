package clienthello

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/crypto/cryptobyte"
)

func TestReadRealHellos(t *testing.T) {
	sniALPN := realHello(t, &tls.Config{ServerName: "Db.Example.COM", NextProtos: []string{"h2", "http/1.1"}})
	noSNI := realHello(t, &tls.Config{InsecureSkipVerify: true})
	tls12 := realHello(t, &tls.Config{ServerName: "legacy.test", MaxVersion: tls.VersionTLS12})
	tests := []struct {
		name     string
		data     []byte
		wrap     func(io.Reader) io.Reader
		wantSNI  string
		wantALPN []string
	}{
		{"sni and alpn", sniALPN, nil, "db.example.com", []string{"h2", "http/1.1"}},
		{"no sni", noSNI, nil, "", nil},
		{"tls 1.2 only", tls12, nil, "legacy.test", nil},
		{"split into 64-byte records", reframe(t, sniALPN, 64), nil, "db.example.com", []string{"h2", "http/1.1"}},
		{"split into 1-byte records", reframe(t, sniALPN, 1), nil, "db.example.com", []string{"h2", "http/1.1"}},
		{"1-byte reads", sniALPN, iotest.OneByteReader, "db.example.com", []string{"h2", "http/1.1"}},
		{"split records, half reads", reframe(t, noSNI, 100), iotest.HalfReader, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Client data after the hello (nothing follows in practice, but
			// a reader may hand it over in the same Read) must come back too.
			data := append(slices.Clone(tc.data), "trailing"...)
			var r io.Reader = bytes.NewReader(data)
			if tc.wrap != nil {
				r = tc.wrap(r)
			}
			info, read, err := Read(r)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !info.TLS || info.ServerName != tc.wantSNI || !slices.Equal(info.ALPN, tc.wantALPN) {
				t.Fatalf("info = %+v, want SNI %q ALPN %q", info, tc.wantSNI, tc.wantALPN)
			}
			if !bytes.HasPrefix(data, read) || len(read) < len(tc.data) {
				t.Fatalf("read %d bytes, not a prefix of the stream covering the hello (%d)", len(read), len(tc.data))
			}
			hello, ok := tlsView(tc.data)
			if !ok || strings.ToLower(hello.ServerName) != info.ServerName || !slices.Equal(hello.SupportedProtos, info.ALPN) {
				t.Fatalf("crypto/tls sees %+v, ok=%v", hello, ok)
			}
		})
	}
}

func TestReadNotTLS(t *testing.T) {
	for _, first := range []string{"GET / HTTP/1.1\r\nHost: a\r\n\r\n", "SSH-2.0-OpenSSH_9.6\r\n", "\x00", "\x15\x03\x03\x00\x02\x02\x28"} {
		// The reader hands out the first chunk, then would block for ever:
		// a second Read fails the test.
		cr := &countingReader{r: io.MultiReader(strings.NewReader(first), failReader{t})}
		info, read, err := Read(cr)
		if err != nil || info.TLS || string(read) != first || cr.reads != 1 {
			t.Fatalf("%q: info=%+v read=%q err=%v reads=%d", first, info, read, err, cr.reads)
		}
	}
}

type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("read past the first chunk of a non-TLS stream")
	return 0, io.EOF
}

func TestReadTruncated(t *testing.T) {
	hello := realHello(t, &tls.Config{ServerName: "a.test"})
	for _, n := range []int{1, 4, 5, 9, 60, len(hello) - 1} {
		info, read, err := Read(bytes.NewReader(hello[:n]))
		if !errors.Is(err, io.ErrUnexpectedEOF) || !bytes.Equal(read, hello[:n]) || info.TLS {
			t.Fatalf("%d bytes: info=%+v read=%d err=%v", n, info, len(read), err)
		}
	}
	if _, read, err := Read(bytes.NewReader(nil)); !errors.Is(err, io.ErrUnexpectedEOF) || len(read) != 0 {
		t.Fatalf("empty stream: read=%d err=%v", len(read), err)
	}
}

// handshake wraps a handshake message body of type typ into one record.
func handshake(typ byte, body []byte) []byte {
	var b cryptobyte.Builder
	b.AddUint8(recordTypeHandshake)
	b.AddUint16(0x0301)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(typ)
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(body) })
	})
	return b.BytesOrPanic()
}

// helloBody builds a ClientHello body with the given extensions block
// (nil = none).
func helloBody(exts func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddUint16(0x0303)
	b.AddBytes(make([]byte, 32))
	b.AddUint8(0)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint16(0x1301) })
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	if exts != nil {
		b.AddUint16LengthPrefixed(exts)
	}
	return b.BytesOrPanic()
}

func ext(typ uint16, data func(b *cryptobyte.Builder)) func(b *cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddUint16(typ)
		b.AddUint16LengthPrefixed(data)
	}
}

func sni(names ...string) func(b *cryptobyte.Builder) {
	return ext(extServerName, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, n := range names {
				b.AddUint8(nameTypeHost)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(n)) })
			}
		})
	})
}

func all(fs ...func(b *cryptobyte.Builder)) func(b *cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		for _, f := range fs {
			f(b)
		}
	}
}

func TestReadHandBuilt(t *testing.T) {
	alpnExt := func(protos ...string) func(b *cryptobyte.Builder) {
		return ext(extALPN, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				for _, p := range protos {
					b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
				}
			})
		})
	}
	empty := func(*cryptobyte.Builder) {}
	tests := []struct {
		name    string
		data    []byte
		wantErr bool
		want    Info
	}{
		{"no extensions block", handshake(1, helloBody(nil)), false, Info{TLS: true}},
		{"sni", handshake(1, helloBody(sni("X.test"))), false, Info{TLS: true, ServerName: "x.test"}},
		{"non-ascii not folded", handshake(1, helloBody(sni("\u212a.test"))), false, Info{TLS: true, ServerName: "\u212a.test"}},
		{"sni trailing dot", handshake(1, helloBody(sni("x.test."))), true, Info{}},
		{"two host_names", handshake(1, helloBody(sni("a.test", "b.test"))), true, Info{}},
		{"empty host_name", handshake(1, helloBody(sni(""))), true, Info{}},
		{"empty sni list", handshake(1, helloBody(ext(extServerName, func(b *cryptobyte.Builder) { b.AddUint16(0) }))), true, Info{}},
		{"duplicate extension", handshake(1, helloBody(all(sni("a.test"), sni("a.test")))), true, Info{}},
		{"alpn empty name", handshake(1, helloBody(alpnExt("h2", ""))), true, Info{}},
		{"alpn empty list", handshake(1, helloBody(ext(extALPN, func(b *cryptobyte.Builder) { b.AddUint16(0) }))), true, Info{}},
		{"unknown extension skipped", handshake(1, helloBody(all(ext(0xfafa, empty), alpnExt("x")))), false, Info{TLS: true, ALPN: []string{"x"}}},
		{"not client_hello", handshake(2, helloBody(nil)), true, Info{}},
		{"trailing bytes", handshake(1, append(helloBody(nil), 0)), true, Info{}},
		{"odd cipher suites", handshake(1, []byte{3, 3}), true, Info{}},
		{"record too long", []byte{22, 3, 1, 0x40, 0x01}, true, Info{}},
		{"record version not TLS", []byte{22, 0x16, 3, 0, 1, 1}, true, Info{}},
		{"alert inside the hello", append(reframe(t, handshake(1, helloBody(sni("a.test"))), 10)[:15], 21, 3, 3, 0, 2, 2, 40), true, Info{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			info, read, err := Read(bytes.NewReader(tc.data))
			if tc.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrMalformed)) {
				t.Fatalf("err = %v, want error %v (ErrMalformed)", err, tc.wantErr)
			}
			if info.TLS != tc.want.TLS || info.ServerName != tc.want.ServerName || !slices.Equal(info.ALPN, tc.want.ALPN) {
				t.Fatalf("info = %+v, want %+v", info, tc.want)
			}
			if !bytes.HasPrefix(tc.data, read) {
				t.Fatal("read is not what the stream held")
			}
		})
	}
}

// endless hands out zero-length handshake records for ever.
type endless struct{ off int }

func (e *endless) Read(p []byte) (int, error) {
	rec := []byte{22, 3, 1, 0, 0}
	for i := range p {
		p[i] = rec[e.off%len(rec)]
		e.off++
	}
	return len(p), nil
}

func TestReadBounded(t *testing.T) {
	for name, r := range map[string]io.Reader{
		"empty records": &endless{},
		// A hello announcing 16 MiB.
		"huge hello": io.MultiReader(bytes.NewReader([]byte{22, 3, 1, 0x40, 0, 1, 0xff, 0xff, 0xff}), bytes.NewReader(make([]byte, 1<<20))),
	} {
		cr := &countingReader{r: r}
		_, read, err := Read(cr)
		if !errors.Is(err, ErrMalformed) || cr.n > MaxHelloBytes || len(read) != cr.n {
			t.Fatalf("%s: err=%v, consumed %d (limit %d), returned %d", name, err, cr.n, MaxHelloBytes, len(read))
		}
	}
}
