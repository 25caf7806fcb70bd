package h1server

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// Buffer sizes. The reader matches net/http's 4 KiB; the writer is 8 KiB
// (see BenchmarkServe's writer-size note in the package tests), and the
// pending buffer decides how big a body may be and still get a computed
// Content-Length instead of chunking (net/http: 2 KiB).
const (
	readBufSize  = 4 << 10
	writeBufSize = 8 << 10
	pendSize     = 4 << 10
	maxHeadKeep  = 64 << 10 // larger head scratch is not pooled
)

type readBufs struct {
	br    *bufio.Reader
	head  []byte
	spans []span
}

type writeBufs struct {
	bw   *bufio.Writer
	pend []byte
}

var (
	readPool = sync.Pool{New: func() any {
		return &readBufs{br: bufio.NewReaderSize(nil, readBufSize), head: make([]byte, 0, 1024), spans: make([]span, 0, 32)}
	}}
	writePool = sync.Pool{New: func() any {
		return &writeBufs{bw: bufio.NewWriterSize(nil, writeBufSize), pend: make([]byte, 0, pendSize)}
	}}
)

// exchange is one request's state in one allocation.
type exchange struct {
	res  response
	body body
	ctx  reqCtx
	url  url.URL
	ph   parsedHead
	vals [16]string
}

// conn is one client connection. Only its goroutine touches its fields,
// except state and cur (atomics used by Shutdown and Close) and, under
// response.wmu, the writer (for 100 Continue from a body-reading goroutine).
type conn struct {
	s          *Server
	nc         net.Conn
	remoteAddr string
	laddr      net.Addr
	created    int64 // UnixNano
	state      atomic.Int32
	cur        atomic.Pointer[reqCtx]

	rb       *readBufs  // held while the connection lives
	wb       *writeBufs // held only while a response is being written
	tlsState *tls.ConnectionState

	werr            error // first write error: the client is gone
	bytesOut        int64
	rdl             bool // a read deadline is set
	deadlineTouched bool // the handler set deadlines via ResponseController
	watch           closeWatch
	hijacked        bool
	linger          bool // close gracefully: unread input may be pending
}

func newConn(s *Server, nc net.Conn) *conn {
	c := &conn{s: s, nc: nc, created: time.Now().UnixNano()}
	return c
}

// Write is the bufio.Writer's sink: it records the first error and cancels
// the request in flight, which is how a client disconnect is noticed.
func (c *conn) Write(p []byte) (int, error) {
	n, err := c.nc.Write(p)
	c.bytesOut += int64(n)
	if err != nil {
		if c.werr == nil {
			c.werr = err
		}
		if x := c.cur.Load(); x != nil {
			x.cancel(context.Canceled)
		}
	}
	return n, err
}

func (c *conn) writer() *bufio.Writer {
	if c.wb == nil {
		c.wb = writePool.Get().(*writeBufs)
		c.wb.bw.Reset(c)
	}
	return c.wb.bw
}

func (c *conn) releaseWriter() {
	if wb := c.wb; wb != nil {
		c.wb = nil
		wb.bw.Reset(nil)
		wb.pend = wb.pend[:0]
		writePool.Put(wb)
	}
}

func (c *conn) setReadDeadline(t time.Time) {
	if t.IsZero() && !c.rdl {
		return
	}
	c.nc.SetReadDeadline(t)
	c.rdl = !t.IsZero()
}

func (c *conn) serve() {
	defer c.close()
	// Addresses are asked for here, in the connection's goroutine, not in
	// the accept loop: a PROXY protocol listener (proxyproto.Listener)
	// reads the header to answer, which may take its timeout.
	c.remoteAddr, c.laddr = c.nc.RemoteAddr().String(), c.nc.LocalAddr()
	if tc, ok := c.nc.(*tls.Conn); ok && !c.handshake(tc) {
		return
	}
	c.rb = readPool.Get().(*readBufs)
	c.rb.br.Reset(c.nc)
	for first := true; ; first = false {
		if !c.awaitRequest(first) || !c.serveRequest(first) {
			return
		}
	}
}

func (c *conn) handshake(tc *tls.Conn) bool {
	cfg := &c.s.cfg
	d := cfg.ReadHeaderTimeout
	for _, t := range []time.Duration{cfg.ReadTimeout, cfg.WriteTimeout} {
		if t > 0 && (d == 0 || t < d) {
			d = t
		}
	}
	if d > 0 {
		tc.SetDeadline(time.Now().Add(d))
	}
	if err := tc.HandshakeContext(context.Background()); err != nil {
		c.s.logf("h1server: TLS handshake error from %s: %v", c.remoteAddr, err)
		return false
	}
	if d > 0 {
		tc.SetDeadline(time.Time{})
	}
	st := tc.ConnectionState()
	if p := st.NegotiatedProtocol; p != "" && p != "http/1.1" {
		c.s.logf("%v: %q from %s", errNotH1, p, c.remoteAddr)
		return false
	}
	c.tlsState = &st
	return true
}

// awaitRequest waits for the first byte of the next request. While it
// waits the connection is idle (or new) and Shutdown may close it; the
// compare-and-swap to active decides who wins.
func (c *conn) awaitRequest(first bool) bool {
	s := c.s
	br := c.rb.br
	if first {
		if d := s.cfg.ReadHeaderTimeout; d > 0 {
			c.setReadDeadline(time.Now().Add(d))
		} else if d := s.cfg.ReadTimeout; d > 0 {
			c.setReadDeadline(time.Now().Add(d))
		}
		if _, err := br.Peek(1); err != nil {
			return false
		}
		if !c.state.CompareAndSwap(stateNew, stateActive) {
			return false
		}
		s.hook(c.nc, http.StateActive)
		return true
	}
	if br.Buffered() > 0 {
		return s.keepAlives() // pipelined: already active
	}
	c.state.Store(stateIdle)
	s.hook(c.nc, http.StateIdle)
	if !s.keepAlives() {
		c.state.CompareAndSwap(stateIdle, stateClosed)
		return false
	}
	if d := s.idleTimeout; d > 0 {
		c.setReadDeadline(time.Now().Add(d))
	}
	if _, err := br.Peek(1); err != nil {
		return false
	}
	if !c.state.CompareAndSwap(stateIdle, stateActive) {
		return false
	}
	s.hook(c.nc, http.StateActive)
	return true
}

// serveRequest reads, handles and answers one request, and reports whether
// the connection can carry another.
func (c *conn) serveRequest(first bool) bool {
	x, u := c.readRequest(first)
	if x == nil {
		return false
	}
	r, w, b := c.newRequest(x, u)
	return c.handle(x, r, w, b)
}

// readRequest reads and parses one request head under the read
// deadlines, answering a malformed one itself. nil: the connection is
// done (closed, timed out, or refused).
func (c *conn) readRequest(first bool) (*exchange, *url.URL) {
	s := c.s
	cfg := &s.cfg
	start := time.Now()
	if !first {
		switch {
		case cfg.ReadHeaderTimeout > 0:
			c.setReadDeadline(start.Add(cfg.ReadHeaderTimeout))
		case cfg.ReadTimeout > 0:
			c.setReadDeadline(start.Add(cfg.ReadTimeout))
		default:
			c.setReadDeadline(time.Time{})
		}
	}
	head, err := readHead(c.rb.br, c.rb.head, s.maxHead)
	if cap(head) <= maxHeadKeep {
		c.rb.head = head[:0]
	}
	if err != nil {
		if se, ok := err.(*statusError); ok {
			c.reject(se)
		}
		return nil, nil // EOF, timeout or reset mid-head: nobody to answer
	}
	x := new(exchange)
	ph := &x.ph
	spans, err := parseHead(head, c.rb.spans[:0], x.vals[:], ph)
	c.rb.spans = spans[:0]
	if err != nil {
		c.reject(err.(*statusError))
		return nil, nil
	}
	u, err := parseTarget(ph.method, ph.target, &x.url)
	if err != nil {
		c.reject(err.(*statusError))
		return nil, nil
	}
	if cfg.ReadTimeout > 0 {
		if cfg.ReadHeaderTimeout > 0 || first {
			c.setReadDeadline(start.Add(cfg.ReadTimeout))
		}
	} else {
		c.setReadDeadline(time.Time{})
	}
	if d := cfg.WriteTimeout; d > 0 {
		c.nc.SetWriteDeadline(time.Now().Add(d))
	}
	return x, u
}

// newRequest builds the handler's request, response writer and body
// reader from a parsed head.
func (c *conn) newRequest(x *exchange, u *url.URL) (*http.Request, *response, *body) {
	ph := &x.ph
	tmp := http.Request{
		Method:     ph.method,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: ph.minor,
		Header:     ph.header,
		Host:       ph.host,
		RemoteAddr: c.remoteAddr,
		RequestURI: ph.target,
		Close:      ph.closeConn,
		TLS:        c.tlsState,
		Body:       http.NoBody,
	}
	if ph.minor == 0 {
		tmp.Proto = "HTTP/1.0"
	}
	if u.Host != "" {
		tmp.Host = u.Host
	}
	x.ctx.laddr = c.laddr
	r := tmp.WithContext(&x.ctx)

	w := &x.res
	w.c, w.req, w.minor = c, r, ph.minor
	w.isHead = ph.method == http.MethodHead
	w.contentLength = -1
	w.wantsClose = ph.minor == 1 && ph.closeConn
	w.keepAlive10 = ph.keepAlive10
	b := &x.body
	br := c.rb.br
	switch {
	case ph.chunked:
		r.ContentLength = -1
		r.TransferEncoding = []string{"chunked"}
		r.Trailer = ph.trailer
		b.mode = bodyChunked
		b.cr = chunkedReader{h1wire.ChunkedReader{BR: br, Trailer: &r.Trailer, MaxTrailer: c.s.maxHead, RejectFramingTrailers: true}}
	case ph.contentLength > 0:
		r.ContentLength = ph.contentLength
		b.mode = bodyLength
		b.remaining = ph.contentLength
	}
	if b.mode != 0 {
		b.br, b.res, b.expect = br, w, ph.expectContinue
		r.Body = b
		w.body = b
	}
	return r, w, b
}

// handle runs the handler and finishes the exchange, reporting whether
// the connection stays open for the next request.
func (c *conn) handle(x *exchange, r *http.Request, w *response, b *body) bool {
	c.cur.Store(&x.ctx)
	if b.mode == 0 {
		c.armWatch(&x.ctx)
	}
	panicked := c.runHandler(w, r)
	c.disarmWatch()
	x.ctx.cancel(context.Canceled)
	c.cur.Store(nil)
	if w.hijacked {
		return false
	}
	keep := false
	if !panicked {
		keep = w.finish()
	}
	if w.body != nil {
		b.finish()
		if !b.sawEOF {
			c.linger = true
		}
	}
	c.releaseWriter()
	if c.deadlineTouched {
		c.deadlineTouched = false
		c.nc.SetDeadline(time.Time{})
		c.rdl = false
	}
	return keep
}

// runHandler calls the handler and recovers its panic: http.ErrAbortHandler
// closes the connection silently; anything else is logged with a stack and
// answered 500 if no byte of the response reached the wire.
func (c *conn) runHandler(w *response, r *http.Request) (panicked bool) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		panicked = true
		if v != http.ErrAbortHandler {
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			c.s.log.Error("h1server: panic serving "+c.remoteAddr, "panic", v, "stack", string(buf))
		}
		if w.hijacked || v == http.ErrAbortHandler || c.werr != nil {
			return
		}
		if w.wroteHeader && c.bytesOut != w.outMark {
			return // part of the response is out: closing is all we can do
		}
		w.wmu.Lock()
		w.wroteHeader = true // no more 100 Continue
		w.wmu.Unlock()
		if c.wb != nil {
			c.wb.bw.Reset(c)
			c.wb.pend = c.wb.pend[:0]
		}
		c.writeError(w.minor, http.StatusInternalServerError, "")
		c.linger = true
	}()
	c.s.h.ServeHTTP(w, r)
	return false
}

// reject answers a request the parser refused and arranges a graceful
// close: the client may still be sending.
func (c *conn) reject(e *statusError) {
	c.writeError(1, e.code, e.msg)
	c.linger = true
}

func (c *conn) writeError(minor, code int, msg string) {
	text := strconv.Itoa(code) + " " + statusText(code)
	if msg != "" {
		text += ": " + msg
	}
	bw := c.writer()
	bw.Write(statusLine(minor, code))
	bw.WriteString("Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ")
	bw.WriteString(strconv.Itoa(len(text)))
	bw.WriteString("\r\n")
	bw.Write(dateLine())
	bw.WriteString("\r\n")
	bw.WriteString(text)
	bw.Flush()
}

// hijack detaches the connection from the server and returns the reader
// with whatever was read past the request.
func (c *conn) hijack() *bufio.Reader {
	c.disarmWatch()
	c.hijacked = true
	c.nc.SetDeadline(time.Time{})
	c.state.Store(stateHijacked)
	c.s.untrack(c, http.StateHijacked)
	br := c.rb.br
	c.rb = nil
	return br
}

func (c *conn) close() {
	if c.hijacked {
		return
	}
	c.releaseWriter()
	if c.linger && c.werr == nil {
		c.lingerClose()
	}
	c.nc.Close()
	if rb := c.rb; rb != nil {
		c.rb = nil
		rb.br.Reset(nil)
		readPool.Put(rb)
	}
	c.state.Store(stateClosed)
	c.s.untrack(c, http.StateClosed)
}

// lingerClose half-closes and reads what the client still sends (for at
// most 500ms and 256 KiB), so that closing with unread input does not
// reset the connection before the client has read our last response.
func (c *conn) lingerClose() {
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		return
	}
	c.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	io.CopyN(io.Discard, c.nc, maxPostHandlerReadBytes)
}
