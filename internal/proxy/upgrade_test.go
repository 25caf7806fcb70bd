package proxy

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// echoWS is a WebSocket upstream that echoes messages; it reports on done
// when its connection ends.
func echoWS(t *testing.T) (url string, done <-chan error) {
	ch := make(chan error, 1)
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			ch <- err
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(1 << 20)
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				ch <- err
				return
			}
			if err := c.Write(r.Context(), typ, msg); err != nil {
				ch <- err
				return
			}
		}
	})
	return up.URL, ch
}

func echo(t *testing.T, ctx context.Context, c *websocket.Conn, msg string) {
	t.Helper()
	if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_, got, err := c.Read(ctx)
	if err != nil || string(got) != msg {
		t.Fatalf("echo %q: got %q, %v", msg, got, err)
	}
}

func TestWebSocketEcho(t *testing.T) {
	upURL, upDone := echoWS(t)
	// The route timeout bounds the handshake, not the tunnel; nor do the
	// server's read and write timeouts, which leave deadlines on the
	// connection it hands over.
	s := httptest.NewUnstartedServer(New(Options{Pool: newPool(t, upURL), Transport: testTransport(t), Timeout: 300 * time.Millisecond}))
	s.Config.ReadTimeout, s.Config.WriteTimeout = 300*time.Millisecond, 300*time.Millisecond
	s.Start()
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL, "http")+"/chat", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", res.StatusCode)
	}
	c.SetReadLimit(1 << 20)
	echo(t, ctx, c, "hello")
	echo(t, ctx, c, strings.Repeat("big", 50000))
	time.Sleep(400 * time.Millisecond) // outlive the timeouts
	echo(t, ctx, c, "still here")
	c.Close(websocket.StatusNormalClosure, "bye")
	select {
	case err := <-upDone:
		if websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Fatalf("upstream ended with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("upstream did not see the close")
	}
}

// rawUpgrader is an upstream that answers with the literal text resp on
// the hijacked connection and then runs then(conn).
func rawUpgrader(t *testing.T, resp string, then func(net.Conn)) string {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		c, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		brw.WriteString(resp)
		brw.Flush()
		if then != nil {
			then(c)
		}
	})
	return up.URL
}

const wsRequest = "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n"

func TestUpgradeRefusedUnlessUpstreamSwitchesAsAsked(t *testing.T) {
	const switched = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n"
	cases := []struct{ name, upstreamResp, req string }{
		{"other protocol", strings.Replace(switched, "%s", "tcp-tunnel", 1), wsRequest},
		{"no upgrade asked", strings.Replace(switched, "%s", "websocket", 1), "GET / HTTP/1.1\r\nHost: h\r\n\r\n"},
		{"none asked, none named", "HTTP/1.1 101 Switching Protocols\r\n\r\n", "GET / HTTP/1.1\r\nHost: h\r\n\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var hits counter
			s := front(t, Options{Pool: newPool(t, rawUpgrader(t, tc.upstreamResp, nil)), OnUpstreamError: hits.hook})
			res, _, _ := raw(t, hostOf(s), tc.req)
			if res.StatusCode != http.StatusBadGateway || hits.total() != 1 {
				t.Fatalf("status %d, upstream errors %d", res.StatusCode, hits.total())
			}
		})
	}
}

func TestUpgradeDeclinedIsRelayed(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			t.Errorf("Upgrade %q not forwarded", r.Header.Get("Upgrade"))
		}
		http.Error(w, "no", http.StatusForbidden)
	})
	s := front(t, Options{Pool: newPool(t, up.URL)})
	if res, _, _ := raw(t, hostOf(s), wsRequest); res.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestUpgradeNotForwarded(t *testing.T) {
	up, got := recorder(t)
	s := front(t, Options{Pool: newPool(t, up.URL)})
	cases := map[string]string{
		"h2c":      "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
		"HTTP/1.0": "GET / HTTP/1.0\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			res, _, _ := raw(t, hostOf(s), req)
			c := <-got
			if res.StatusCode != 200 || c.header["Upgrade"] != nil || c.header["Connection"] != nil || c.header["Http2-Settings"] != nil {
				t.Fatalf("status %d, upstream headers %v", res.StatusCode, c.header)
			}
		})
	}
}

// TestTunnelEndsBothWays: when one side of a tunnel ends, the other side's
// connection is closed too, in both directions.
func TestTunnelEndsBothWays(t *testing.T) {
	const switched = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
	t.Run("upstream ends", func(t *testing.T) {
		upURL := rawUpgrader(t, switched, func(c net.Conn) { io.WriteString(c, "bye") })
		s := front(t, Options{Pool: newPool(t, upURL)})
		res, br, _ := raw(t, hostOf(s), wsRequest)
		if res.StatusCode != 101 || res.Header.Get("Upgrade") != "websocket" {
			t.Fatalf("status %d, header %v", res.StatusCode, res.Header)
		}
		rest, err := io.ReadAll(br) // needs the client side closed
		if err != nil || string(rest) != "bye" {
			t.Fatalf("read %q, %v", rest, err)
		}
	})
	t.Run("client ends", func(t *testing.T) {
		upstreamGot := make(chan string, 1)
		upURL := rawUpgrader(t, switched, func(c net.Conn) {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c) // needs the upstream side closed
			if err != nil {
				b = append(b, " ("+err.Error()+")"...)
			}
			upstreamGot <- string(b)
		})
		s := front(t, Options{Pool: newPool(t, upURL)})
		// Bytes sent right behind the request must get through too.
		res, _, c := raw(t, hostOf(s), wsRequest+"early")
		if res.StatusCode != 101 {
			t.Fatalf("status %d", res.StatusCode)
		}
		io.WriteString(c, "+late")
		c.(*net.TCPConn).CloseWrite()
		if got := <-upstreamGot; got != "early+late" {
			t.Fatalf("upstream read %q", got)
		}
	})
}

func TestInvalidUpgradeToken(t *testing.T) {
	up, _ := recorder(t)
	s := front(t, Options{Pool: newPool(t, up.URL)})
	// net/http accepts a tab (and bytes >= 0x80) in a header value.
	res, _, _ := raw(t, hostOf(s), "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: web\tsocket\r\n\r\n")
	if res.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", res.StatusCode)
	}
}
