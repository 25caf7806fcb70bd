package listener

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestH2CFirstLine: on an h2c listener, a first line that is neither
// HTTP/1.x nor the HTTP/2 preface is closed without a byte of answer (RFC
// 9113 §3.4), while HTTP/1.1 is still answered.
func TestH2CFirstLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	sv := Serve(ln, Settings{Name: "t", H2C: true, ReadHeader: 5 * time.Second}, h, nil, slog.New(slog.DiscardHandler))
	defer sv.Shutdown(context.Background())
	for req, want := range map[string]string{
		"INVALID CONNECTION PREFACE\r\n\r\n":                     "",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n": "HTTP/1.1 200 OK",
		"GET / HTTP/9.9\r\nHost: x\r\n\r\n":                      "HTTP/1.1 505",
	} {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, req)
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Errorf("%q: read: %v", req, err)
		}
		if !strings.HasPrefix(string(got), want) || (want == "" && len(got) != 0) {
			t.Errorf("%q: got %q, want %q", req, got, want)
		}
	}
}
