package h1client

import (
	"bufio"
	"io"
	"net/http"
	"sync"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// Body framing modes.
const (
	bodyLength     = iota // Content-Length: remaining bytes left
	bodyChunked           // chunked transfer coding
	bodyUntilClose        // delimited by the server closing the connection
	bodyDone              // Content-Length: 0, nothing to read
)

// responseBody puts the response, its body and the backing array of its
// header values in one allocation: they live and die together.
type responseBody struct {
	resp   http.Response
	body   body
	values [8]string
}

// body reads a response body straight from the connection. The connection
// goes back to the pool the moment the body reaches EOF (returned together
// with the last bytes when possible), so a caller that reads to the end
// never has to Close for reuse, though it still should.
//
// Close may be called concurrently with a blocked Read: it forces the
// connection's deadline into the past to unblock it.
type body struct {
	mu        sync.Mutex
	c         *conn // nil once the connection is released
	owner     *conn // immutable copy of c, for aborting from Close
	gen       uint64
	br        *bufio.Reader
	mode      uint8
	keep      bool // the response allows keep-alive
	closed    bool
	remaining int64
	chunked   chunkedReader
	err       error // sticky: io.EOF or the failure
}

// Read implements io.Reader.
func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.mode == bodyDone {
		b.err = io.EOF
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n   int
		err error
	)
	switch b.mode {
	case bodyLength:
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.br.Read(p)
		b.remaining -= int64(n)
		if b.remaining == 0 {
			b.finish(true)
			return n, io.EOF
		}
		err = h1wire.UnexpectedEOF(err)
	case bodyChunked:
		n, err = b.chunked.read(p)
		if err == io.EOF {
			b.finish(true)
			return n, io.EOF
		}
	case bodyUntilClose:
		n, err = b.br.Read(p)
		if err == io.EOF {
			b.finish(false)
			return n, io.EOF
		}
	}
	if err != nil {
		b.err = b.c.mapErr(err)
		if _, ok := err.(*protocolError); !ok && b.err == err {
			b.err = &opError{op: "read body", addr: b.c.hp.addr, err: err}
		}
		c := b.c
		b.c = nil
		c.release(false)
		return n, b.err
	}
	return n, nil
}

// finish ends the body at EOF and hands the connection back.
func (b *body) finish(reusable bool) {
	b.err = io.EOF
	c := b.c
	b.c = nil
	c.release(reusable && b.keep)
}

// Close implements io.Closer. Closing before EOF closes the connection,
// unless the rest of a Content-Length body is already buffered: discarding
// it costs nothing and saves a reconnect. Nothing is read from the network,
// so Close never blocks on a slow server.
func (b *body) Close() error {
	if !b.mu.TryLock() {
		b.owner.abort(b.gen, errBodyClosed)
		b.mu.Lock()
	}
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	c := b.c
	if c == nil {
		return nil
	}
	b.c = nil
	if b.mode == bodyLength && b.err == nil && b.remaining <= int64(b.br.Buffered()) {
		b.br.Discard(int(b.remaining))
		c.release(b.keep)
		return nil
	}
	c.release(false)
	return nil
}
