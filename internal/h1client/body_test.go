package h1client

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"testing"
)

const bigSize = 50 << 20

// pattern is a deterministic, non-repeating-at-buffer-size stream, so a
// dropped or duplicated buffer changes the digest.
type pattern struct{ n, off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if rem := p.n - p.off; int64(len(b)) > rem {
		b = b[:rem]
	}
	for i := range b {
		x := p.off + int64(i)
		b[i] = byte(x ^ x>>8 ^ x>>17)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func digest(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, err
}

func TestLargeBodies(t *testing.T) {
	want, _, _ := digest(&pattern{n: bigSize})
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			d, n, err := digest(r.Body)
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("X-Digest", d)
			w.Header().Set("X-Len", strconv.FormatInt(n, 10))
		case "/download":
			if r.URL.Query().Get("cl") == "1" {
				w.Header().Set("Content-Length", strconv.Itoa(bigSize))
			}
			io.Copy(w, &pattern{n: bigSize}) // chunked unless cl=1
		}
	})
	tr := newTestTransport(t, Config{})

	for _, chunked := range []bool{false, true} {
		req := mustReq(t, "PUT", s.URL+"/upload", io.NopCloser(&pattern{n: bigSize}))
		req.ContentLength = bigSize
		if chunked {
			req.ContentLength = -1
		}
		resp, _ := do(t, tr, req)
		if resp.Header.Get("X-Digest") != want || resp.Header.Get("X-Len") != strconv.Itoa(bigSize) {
			t.Fatalf("upload chunked=%v: server got %s bytes, digest mismatch", chunked, resp.Header.Get("X-Len"))
		}
	}
	for _, q := range []string{"cl=1", "cl=0"} {
		resp, err := tr.RoundTrip(mustReq(t, "GET", s.URL+"/download?"+q, nil))
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := digest(resp.Body)
		resp.Body.Close()
		if err != nil || n != bigSize || got != want {
			t.Fatalf("download %s: %d bytes, err %v, digest match %v", q, n, err, got == want)
		}
	}
	if n := s.conns.Load(); n != 1 {
		t.Fatalf("%d connections for 4 large exchanges, want 1", n)
	}
}

func TestRequestBodyShorterThanContentLength(t *testing.T) {
	s := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	tr := newTestTransport(t, Config{})
	req := mustReq(t, "POST", s.URL, io.NopCloser(&pattern{n: 10}))
	req.ContentLength = 20
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("short body accepted")
	}
	if idleCount(tr) != 0 {
		t.Fatal("connection with a half-written request pooled")
	}
}
