package tcpproxy

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/l4"
)

// The client half-closes; the backend reads to EOF and still answers, and
// the client receives the whole answer.
func TestHalfCloseFromClient(t *testing.T) {
	a, _ := backend(t, func(c net.Conn) {
		n, err := io.Copy(io.Discard, struct{ io.Reader }{c})
		if err != nil {
			return
		}
		fmt.Fprintf(c, "got %d bytes", n)
	})
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	if _, err := c.Write(bytes.Repeat([]byte("x"), 100<<10)); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "got 102400 bytes" {
		t.Fatalf("answer after half-close = %q, %v", got, err)
	}
	e.waitLine(t, map[string]any{"close": "client_closed", "bytes_up": 100 << 10, "bytes_down": len(got)})
}

// The backend half-closes first; the client's later bytes still reach it.
func TestHalfCloseFromBackend(t *testing.T) {
	received := make(chan string, 1)
	a, _ := backend(t, func(c net.Conn) {
		io.WriteString(c, "hello")
		c.(*net.TCPConn).CloseWrite()
		b, _ := io.ReadAll(c)
		received <- string(b)
	})
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	got, err := io.ReadAll(c) // until the backend's EOF
	if err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v", got, err)
	}
	io.WriteString(c, "more after your EOF")
	c.(*net.TCPConn).CloseWrite()
	select {
	case r := <-received:
		if r != "more after your EOF" {
			t.Fatalf("backend received %q", r)
		}
	case <-time.After(ioTimeout):
		t.Fatal("backend received nothing after its half-close")
	}
	e.waitLine(t, map[string]any{"close": "upstream_closed"})
}

// A reset on one side resets the other instead of ending it cleanly.
func TestResetPropagates(t *testing.T) {
	a, _ := backend(t, func(c net.Conn) {
		io.ReadFull(c, make([]byte, 1))
		c.(*net.TCPConn).SetLinger(0)
	})
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	io.WriteString(c, "x")
	_, err := io.ReadAll(c)
	if err == nil {
		t.Fatal("client saw a clean EOF after the backend's reset")
	}
	e.waitLine(t, map[string]any{"close": "error"})
}

func TestIdleTimeoutClosesSilentConnection(t *testing.T) {
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	const idle = 200 * time.Millisecond
	e := start(t, Config{DefaultIdleTimeout: time.Hour}, &l4.Route{Name: "r", Backend: &l4.Backend{Pool: p}, IdleTimeout: idle})
	c := e.dial(t)
	// The proxy's last byte moved after this instant, so it may not close
	// before idle has passed since.
	before := time.Now()
	roundTrip(t, c, "x")
	expectClosed(t, c)
	if d := time.Since(before); d < idle {
		t.Fatalf("closed after %v of silence, before the idle timeout %v", d, idle)
	}
	e.waitLine(t, map[string]any{"close": "idle_timeout"})
}

// The listener's idle timeout applies to routes without their own.
func TestDefaultIdleTimeout(t *testing.T) {
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{DefaultIdleTimeout: 100 * time.Millisecond}, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	c := e.dial(t)
	roundTrip(t, c, "x")
	expectClosed(t, c)
	e.waitLine(t, map[string]any{"close": "idle_timeout"})
}

// Inactivity is both ways: a download the client never writes to stays
// open as long as the backend sends.
func TestIdleTimeoutCountsEitherDirection(t *testing.T) {
	const idle = time.Second
	const n = 100
	a, _ := backend(t, func(c net.Conn) {
		for range n { // 2.5 s, well past idle, never silent for more than idle/40
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
	})
	p, _ := newPool(t, "round_robin", a)
	e := start(t, Config{}, &l4.Route{Name: "r", Backend: &l4.Backend{Pool: p}, IdleTimeout: idle})
	c := e.dial(t)
	got, err := io.ReadAll(c)
	if err != nil || len(got) != n {
		t.Fatalf("read %d bytes, %v; want %d then EOF", len(got), err, n)
	}
	e.waitLine(t, map[string]any{"close": "upstream_closed", "bytes_down": n})
}

// The watchdog's pokes interrupt the copies many times during a
// transfer, spliced (Plain) or through crypto/tls (Terminate); every byte
// still arrives, in order.
func TestIdlePokesLoseNothing(t *testing.T) {
	const idle = 400 * time.Millisecond // pokes every 100ms
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	r := &l4.Route{Name: "r", Backend: &l4.Backend{Pool: p}, IdleTimeout: idle}
	t.Run("plain", func(t *testing.T) {
		e := start(t, Config{}, r)
		pokedTransfer(t, e, e.dial(t))
	})
	t.Run("terminate", func(t *testing.T) {
		cert, leaf := selfSigned(t, "a.example.com")
		e := start(t, Config{Mode: Terminate, TLS: &tls.Config{Certificates: []tls.Certificate{cert}}}, r)
		pokedTransfer(t, e, tlsDial(t, e.addr, "a.example.com", leaf))
	})
}

// pokedTransfer echoes paced chunks through c until the server has
// resumed copies after six pokes, and checks what came back.
func pokedTransfer(t *testing.T, e *env, c net.Conn) {
	c.SetDeadline(time.Time{})
	sent, recv := sha256.New(), sha256.New()
	var total int64
	done := make(chan error, 1)
	go func() {
		n, err := io.Copy(recv, c)
		total = n
		done <- err
	}()
	chunk := make([]byte, 32<<10)
	var wrote int64
	for i := 0; e.s.resumes.Load() < 6; i++ {
		if i == 20000 {
			t.Fatal("no pokes after 20000 chunks")
		}
		for j := range chunk {
			chunk[j] = byte(i + j*7)
		}
		c.SetWriteDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
		sent.Write(chunk)
		wrote += int64(len(chunk))
		time.Sleep(2 * time.Millisecond)
	}
	if err := closeWrite(c); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(ioTimeout):
		t.Fatal("echo did not end")
	}
	if total != wrote || !bytes.Equal(sent.Sum(nil), recv.Sum(nil)) {
		t.Fatalf("echoed %d bytes of %d, digests equal %v", total, wrote, bytes.Equal(sent.Sum(nil), recv.Sum(nil)))
	}
	t.Logf("%d bytes, %d copies resumed after pokes", wrote, e.s.resumes.Load())
}

// Plain forwarding hands io.Copy the two *net.TCPConn themselves once a
// direction has carried spliceAfter bytes, and on Linux the copy really
// runs through splice(2): every open connection holds two of splice's
// kernel pipes, which a read/write loop never creates.
func TestSplice(t *testing.T) {
	a, _ := backend(t, echo) // echo uses a buffer loop: no pipes of its own
	p, _ := newPool(t, "round_robin", a)
	var mu sync.Mutex
	var bad []string
	onCopy := func(client, upstream net.Conn) {
		_, ok1 := client.(*net.TCPConn)
		_, ok2 := upstream.(*net.TCPConn)
		if !ok1 || !ok2 {
			mu.Lock()
			bad = append(bad, fmt.Sprintf("%T/%T", client, upstream))
			mu.Unlock()
		}
	}
	e := startHook(t, Config{}, func(s *Server) { s.onCopy = onCopy }, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	const n = 8
	// Past spliceAfter each way: the first bytes go by read and write
	// (cheaper for short exchanges), the rest must splice.
	bulk := strings.Repeat("b", 2*spliceAfter)
	for range n {
		roundTrip(t, e.dial(t), bulk)
	}
	mu.Lock()
	if len(bad) > 0 {
		t.Fatalf("copy got %v, want *net.TCPConn both sides", bad)
	}
	mu.Unlock()
	if runtime.GOOS != "linux" {
		t.Skip("pipe check is Linux-only")
	}
	if got := e.s.spliced.Load(); got != 2*n {
		t.Errorf("%d directions moved to splice, want %d", got, 2*n)
	}
	stdio, pipes := pipeFDs(t)
	if pipes-stdio < 4*n {
		t.Fatalf("%d pipe fds (%d of them stdio) with %d open connections; want at least %d: the copy does not splice", pipes, stdio, n, 4*n)
	}
}

// pipeFDs counts the process's open pipes: among fds 0-2, and in all.
func pipeFDs(t *testing.T) (stdio, all int) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	for _, ent := range ents {
		dst, err := os.Readlink("/proc/self/fd/" + ent.Name())
		if err != nil || !strings.HasPrefix(dst, "pipe:") {
			continue
		}
		all++
		if ent.Name() == "0" || ent.Name() == "1" || ent.Name() == "2" {
			stdio++
		}
	}
	return stdio, all
}

// A short exchange (a few bytes each way, the common case of short
// connections) is copied by read and write: splice's pipe costs more
// than it saves there.
func TestShortExchangeDoesNotSplice(t *testing.T) {
	a, _ := backend(t, echo)
	p, _ := newPool(t, "round_robin", a)
	e := startHook(t, Config{}, nil, route("r", &l4.Backend{Pool: p}, l4.Match{}))
	for i := range 8 {
		c := e.dial(t)
		roundTrip(t, c, fmt.Sprint("short ", i))
		c.Close()
	}
	if got := e.s.spliced.Load(); got != 0 {
		t.Errorf("%d directions moved to splice for 8 short exchanges, want 0", got)
	}
}
