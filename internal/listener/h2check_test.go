package listener

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// bytesConn is a net.Conn reading from a fixed byte stream, handing out at
// most chunk bytes per Read (to split frames across reads).
type bytesConn struct {
	net.Conn
	r     *bytes.Reader
	chunk int
}

func (c *bytesConn) Read(p []byte) (int, error) {
	if c.chunk > 0 && len(p) > c.chunk {
		p = p[:c.chunk]
	}
	return c.r.Read(p)
}

// clientFrames builds a client's frame stream with x/net's Framer.
func clientFrames(t testing.TB, write func(fr *http2.Framer, enc func(...string) []byte)) []byte {
	t.Helper()
	var out, hb bytes.Buffer
	fr := http2.NewFramer(&out, nil)
	e := hpack.NewEncoder(&hb)
	enc := func(kv ...string) []byte {
		hb.Reset()
		for i := 0; i < len(kv); i += 2 {
			e.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
		}
		return append([]byte(nil), hb.Bytes()...)
	}
	write(fr, enc)
	return out.Bytes()
}

// serverView reads everything through h2Check (chunk bytes per underlying
// read) and parses it as net/http's server would, returning the frames
// and, per stream, the decoded fields or the stream error.
func serverView(t *testing.T, in []byte, chunk int) (settings [][]http2.Setting, fields map[uint32][]hpack.HeaderField, errs map[uint32]error) {
	t.Helper()
	c := newH2Check(&bytesConn{r: bytes.NewReader(in), chunk: chunk}, 1<<20)
	fr := http2.NewFramer(nil, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(headerTableSize, nil)
	fields, errs = map[uint32][]hpack.HeaderField{}, map[uint32]error{}
	for {
		f, err := fr.ReadFrame()
		if err == io.EOF {
			return
		}
		if se, ok := err.(http2.StreamError); ok {
			errs[se.StreamID] = se
			continue
		}
		if err != nil {
			t.Fatalf("server side read: %v", err)
		}
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			fields[f.StreamID] = f.Fields
		case *http2.SettingsFrame:
			var s []http2.Setting
			f.ForeachSetting(func(x http2.Setting) error { s = append(s, x); return nil })
			settings = append(settings, s)
			if f.HasDuplicates() {
				t.Errorf("settings still repeat an identifier: %v", s)
			}
		}
	}
}

func TestH2CheckMalformedRequestIsStreamError(t *testing.T) {
	for _, bad := range [][2]string{
		{"connection", "keep-alive"}, {"keep-alive", "timeout=5"}, {"proxy-connection", "x"},
		{"transfer-encoding", "chunked"}, {"upgrade", "websocket"}, {"te", "gzip"},
	} {
		in := clientFrames(t, func(fr *http2.Framer, enc func(...string) []byte) {
			// Stream 1 is malformed and split over HEADERS + CONTINUATION;
			// stream 3 reuses the dynamic table and must decode as sent.
			blk := enc(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a.test", bad[0], bad[1], "x-pad", "yes")
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: blk[:5], EndStream: true, PadLength: 3})
			fr.WriteContinuation(1, true, blk[5:])
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: enc(":method", "GET", ":scheme", "https", ":path", "/", ":authority", "a.test", "te", "trailers", "x-pad", "yes"), EndStream: true, EndHeaders: true})
		})
		for _, chunk := range []int{0, 1, 7} {
			_, fields, errs := serverView(t, in, chunk)
			if se, ok := errs[1].(http2.StreamError); !ok || se.Code != http2.ErrCodeProtocol {
				t.Errorf("%s: %s (chunk %d): stream 1 got %v, want stream error PROTOCOL_ERROR", bad[0], bad[1], chunk, errs[1])
			}
			if errs[3] != nil || len(fields[3]) != 6 || fields[3][5].Value != "yes" {
				t.Errorf("%s (chunk %d): stream 3 got %v %v, want its 6 fields intact", bad[0], chunk, fields[3], errs[3])
			}
		}
	}
}

func TestH2CheckPassesValidRequests(t *testing.T) {
	in := clientFrames(t, func(fr *http2.Framer, enc func(...string) []byte) {
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":method", "POST", ":scheme", "https", ":path", "/", ":authority", "a.test", "te", "trailers"), EndHeaders: true})
		fr.WriteData(1, true, bytes.Repeat([]byte("x"), 1000))
	})
	got := new(bytes.Buffer)
	c := newH2Check(&bytesConn{r: bytes.NewReader(in), chunk: 5}, 1<<20)
	io.Copy(got, c)
	if !bytes.Equal(got.Bytes(), in) {
		t.Fatalf("valid frames changed in transit")
	}
}

func TestH2CheckRepeatedSettingsInOrder(t *testing.T) {
	in := clientFrames(t, func(fr *http2.Framer, _ func(...string) []byte) {
		fr.WriteSettings(
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: 100},
			http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1 << 15},
			http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1},
		)
		// An invalid value decides even when a valid one follows.
		fr.WriteSettings(
			http2.Setting{ID: http2.SettingEnablePush, Val: 2},
			http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		)
	})
	settings, _, _ := serverView(t, in, 4)
	effective := func(s []http2.Setting, id http2.SettingID) (v uint32, n int) {
		for _, x := range s {
			if x.ID == id {
				v, n = x.Val, n+1
			}
		}
		return
	}
	if len(settings) != 2 {
		t.Fatalf("got %d SETTINGS frames, want 2", len(settings))
	}
	if v, n := effective(settings[0], http2.SettingInitialWindowSize); v != 1 || n != 1 {
		t.Errorf("INITIAL_WINDOW_SIZE: %d occurrences, value %d; want one, 1 (the last)", n, v)
	}
	if v, n := effective(settings[0], http2.SettingMaxFrameSize); v != 1<<15 || n != 1 {
		t.Errorf("MAX_FRAME_SIZE changed: %d×%d", n, v)
	}
	if v, n := effective(settings[1], http2.SettingEnablePush); v != 2 || n != 1 {
		t.Errorf("ENABLE_PUSH: %d occurrences, value %d; want the invalid 2 kept", n, v)
	}
}

// BenchmarkH2Check reads a realistic client stream through the check: a
// browser-like request (about 15 fields, dynamic table warm after the
// first) with a 16 KiB body in DATA frames, read the way net/http's
// server does (frame header, then payload).
func BenchmarkH2Check(b *testing.B) {
	benchRead(b, func(c net.Conn) io.Reader { return newH2Check(c, 1<<20) })
}

// benchStream is 100 requests as a browser sends them.
func benchStream(b *testing.B) []byte {
	const requests = 100
	return clientFrames(b, func(fr *http2.Framer, enc func(...string) []byte) {
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
		for i := uint32(0); i < requests; i++ {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 2*i + 1, EndHeaders: true, BlockFragment: enc(
				":method", "POST", ":scheme", "https", ":path", "/api/v1/items?page=2", ":authority", "api.example.com",
				"user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
				"accept", "application/json", "accept-encoding", "gzip, deflate, br", "accept-language", "en-US,en;q=0.9",
				"content-type", "application/json", "content-length", "16384", "origin", "https://app.example.com",
				"referer", "https://app.example.com/items", "cookie", "session=0123456789abcdef0123456789abcdef",
				"authorization", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc", "x-request-id", "req-42",
			)})
			for j := 0; j < 4; j++ {
				fr.WriteData(2*i+1, j == 3, make([]byte, 4096))
			}
		}
	})
}

// benchRead reads benchStream through wrap the way net/http's server
// does: a frame header, then the payload.
func benchRead(b *testing.B, wrap func(net.Conn) io.Reader) {
	benchReadStream(b, benchStream(b), wrap)
}

func benchReadStream(b *testing.B, in []byte, wrap func(net.Conn) io.Reader) {
	hdr := make([]byte, frameHeaderLen)
	payload := make([]byte, maxCheckedFrame)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		c := wrap(&bytesConn{r: bytes.NewReader(in)})
		for {
			if _, err := io.ReadFull(c, hdr); err != nil {
				break
			}
			n := int(binary.BigEndian.Uint32(hdr[:4]) >> 8)
			if _, err := io.ReadFull(c, payload[:n]); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkH2CheckBaseline reads the same stream without the check, for
// the difference.
func BenchmarkH2CheckBaseline(b *testing.B) {
	benchRead(b, func(c net.Conn) io.Reader { return c })
}

// FuzzH2Check feeds arbitrary client bytes, split arbitrarily: the check
// must not panic, must end, and may only grow the stream by its own
// CONTINUATION frames (22 bytes per header block).
func FuzzH2Check(f *testing.F) {
	f.Add(clientFrames(f, func(fr *http2.Framer, enc func(...string) []byte) {
		fr.WriteSettings(http2.Setting{ID: 4, Val: 1}, http2.Setting{ID: 4, Val: 2})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":path", "/", "connection", "x"), EndHeaders: true, PadLength: 2, Priority: http2.PriorityParam{Weight: 3}})
	}), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		c := newH2Check(&bytesConn{r: bytes.NewReader(in), chunk: int(chunk)}, 1<<12)
		out, err := io.ReadAll(c)
		if err != nil && err != io.ErrUnexpectedEOF {
			t.Fatal(err)
		}
		if len(out) > len(in)+len(in)/frameHeaderLen*(frameHeaderLen+len(malformedField)) {
			t.Fatalf("grew from %d to %d bytes", len(in), len(out))
		}
	})
}
