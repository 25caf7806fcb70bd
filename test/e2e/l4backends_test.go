package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	proxyproto "github.com/pires/go-proxyproto"
)

// tcpBackend is a raw TCP server in the test process for the L4 tests.
// Every accepted connection is handed to a handler; the backend counts
// accepted connections and can be killed (listener and every open
// connection closed) in the middle of a test.
type tcpBackend struct {
	name     string
	addr     string // host:port
	ln       net.Listener
	accepted atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// newTCPBackend listens on a free loopback port (or wrapped by tlsCfg when
// not nil) and runs handle for each connection; handle need not close it.
func newTCPBackend(t *testing.T, name string, tlsCfg *tls.Config, handle func(b *tcpBackend, c net.Conn)) *tcpBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	b := &tcpBackend{name: name, addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			b.accepted.Add(1)
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				c.Close()
				continue
			}
			b.conns[c] = struct{}{}
			b.wg.Add(1)
			b.mu.Unlock()
			go func() {
				defer b.wg.Done()
				defer func() {
					b.mu.Lock()
					delete(b.conns, c)
					b.mu.Unlock()
					c.Close()
				}()
				// Bound every connection: a test that forgets one must
				// not hang the package.
				c.SetDeadline(time.Now().Add(2 * time.Minute))
				handle(b, c)
			}()
		}
	}()
	t.Cleanup(b.kill)
	return b
}

// kill closes the listener (new connections are refused) and every open
// connection, and waits for the handlers to return.
func (b *tcpBackend) kill() {
	b.ln.Close()
	b.mu.Lock()
	b.closed = true
	for c := range b.conns {
		c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// open is the number of connections the backend holds now.
func (b *tcpBackend) open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// newEchoBackend answers every line it receives with "NAME:LINE\n" until
// the client closes.
func newEchoBackend(t *testing.T, name string) *tcpBackend {
	return newTCPBackend(t, name, nil, echoLines)
}

func echoLines(b *tcpBackend, c net.Conn) {
	br := bufio.NewReader(c)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, b.name+":"+line); err != nil {
			return
		}
	}
}

// newProxyEchoBackend expects a PROXY protocol header (v1 or v2, parsed by
// github.com/pires/go-proxyproto) first, then answers every line with
// "NAME:vVERSION SOURCE:LINE\n", SOURCE being the client address the
// header carried ("none" when there was no header).
func newProxyEchoBackend(t *testing.T, name string) *tcpBackend {
	return newTCPBackend(t, name, nil, func(b *tcpBackend, c net.Conn) {
		br := bufio.NewReader(c)
		h, err := proxyproto.ReadHeaderTimeout(c, br, 5*time.Second)
		src := "v0 none"
		if err == nil && h != nil {
			src = fmt.Sprintf("v%d %s", h.Version, h.SourceAddr)
		}
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			if _, err := io.WriteString(c, b.name+":"+src+":"+line); err != nil {
				return
			}
		}
	})
}

// newTLSNameBackend terminates TLS with the PKI's certificate for certName
// and writes "NAME\n" once the handshake is done, then echoes lines like
// the echo backend.
func newTLSNameBackend(t *testing.T, name string, pki *testPKI, certName string) *tcpBackend {
	t.Helper()
	f := pki.files[certName]
	cert, err := tls.LoadX509KeyPair(f[0], f[1])
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	return newTCPBackend(t, name, cfg, func(b *tcpBackend, c net.Conn) {
		if err := c.(*tls.Conn).Handshake(); err != nil {
			return
		}
		if _, err := io.WriteString(c, b.name+"\n"); err != nil {
			return
		}
		echoLines(b, c)
	})
}

// newCountingSink reads until EOF, then writes the number of bytes it
// read as "N\n" (so the client learns, through the gateway's half-close,
// that every byte arrived) and closes.
func newCountingSink(t *testing.T, name string) *tcpBackend {
	return newTCPBackend(t, name, nil, func(b *tcpBackend, c net.Conn) {
		c.SetDeadline(time.Time{}) // a 1 GiB transfer on a loaded machine may be slow; the test bounds it
		buf := make([]byte, 256<<10)
		var n int64
		for {
			k, err := c.Read(buf)
			n += int64(k)
			if err != nil {
				break
			}
		}
		io.WriteString(c, strconv.FormatInt(n, 10)+"\n")
	})
}

// echoOnce dials addr, sends "msg\n" and returns the reply line (without
// the newline).
func echoOnce(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return exchangeLine(c, bufio.NewReader(c), msg)
}

// echoFrom is echoOnce from the local loopback address ip.
func echoFrom(ip, addr, msg string) (string, error) {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return exchangeLine(c, bufio.NewReader(c), msg)
}

// exchangeLine writes "msg\n" on c and reads one line from br.
func exchangeLine(c net.Conn, br *bufio.Reader, msg string) (string, error) {
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return "", err
	}
	line, err := br.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("reading the reply to %q: %w (got %q)", msg, err, line)
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// replyName is the backend name before the first ':' of an echo reply.
func replyName(reply string) string {
	name, _, _ := strings.Cut(reply, ":")
	return name
}

// udpBackend answers every datagram with "NAME:PAYLOAD" and counts them.
type udpBackend struct {
	name     string
	addr     string
	pc       net.PacketConn
	received atomic.Int64
	done     chan struct{}
}

func newUDPEcho(t *testing.T, name string) *udpBackend {
	return newUDPBackend(t, name, func(b []byte) []byte { return b })
}

// newUDPProxyEcho expects a PROXY v2 header in front of every datagram and
// answers "NAME:SOURCE:PAYLOAD", SOURCE being the header's source address
// ("none" when the datagram had no header).
func newUDPProxyEcho(t *testing.T, name string) *udpBackend {
	return newUDPBackend(t, name, func(b []byte) []byte {
		br := bufio.NewReader(bytes.NewReader(b))
		src := "none"
		if h, err := proxyproto.Read(br); err == nil {
			src = h.SourceAddr.String()
		} else {
			br = bufio.NewReader(bytes.NewReader(b))
		}
		rest, _ := io.ReadAll(br)
		return append([]byte(src+":"), rest...)
	})
}

// kill closes the socket: datagrams to it then draw ICMP port unreachable.
func (b *udpBackend) kill() {
	b.pc.Close()
	<-b.done
}

// newUDPBackend answers every datagram d with "NAME:" + reply(d).
func newUDPBackend(t *testing.T, name string, reply func([]byte) []byte) *udpBackend {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &udpBackend{name: name, addr: pc.LocalAddr().String(), pc: pc, done: make(chan struct{})}
	go func() {
		defer close(b.done)
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			b.received.Add(1)
			pc.WriteTo(append([]byte(name+":"), reply(buf[:n])...), from)
		}
	}()
	t.Cleanup(func() { pc.Close(); <-b.done })
	return b
}

// sumMetric adds the values of every sample of metric name whose label
// set contains all of labels (each as `key="value"`).
func sumMetric(text, name string, labels ...string) float64 {
	var sum float64
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		end := strings.LastIndex(line, "}")
		if end < 0 {
			continue
		}
		set := line[len(name)+1 : end]
		ok := true
		for _, l := range labels {
			if !strings.Contains(","+set+",", ","+l+",") {
				ok = false
				break
			}
		}
		if !ok {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64); err == nil {
			sum += v
		}
	}
	return sum
}

// newProxyHTTPBackend is an HTTP server behind go-proxyproto's Listener:
// it answers every request with the client address it saw: the PROXY
// header's source when one came, else the socket peer's.
func newProxyHTTPBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl := &proxyproto.Listener{Listener: ln, ReadHeaderTimeout: 5 * time.Second}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.RemoteAddr)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	done := make(chan struct{})
	go func() { srv.Serve(pl); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return "http://" + ln.Addr().String()
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (any 127.0.0.0/8 address is local on Linux), so a test can
// tell the client's address from the gateway's own 127.0.0.1.
func clientFrom(t *testing.T, ip string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: d.DialContext}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}
