package h1server

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// maxPostHandlerReadBytes is how much unread request body the server reads
// and discards to keep a connection alive (net/http's value).
const maxPostHandlerReadBytes = 256 << 10

const (
	bodyLength = iota + 1
	bodyChunked
)

// body is a request body read straight from the connection's bufio.Reader.
// The mutex makes a Read from another goroutine (a transport still copying
// the body after the handler returned) safe against the server draining or
// closing it.
type body struct {
	mu        sync.Mutex
	br        *bufio.Reader
	res       *response
	mode      uint8
	remaining int64 // bodyLength
	cr        chunkedReader
	sawEOF    bool
	closed    bool  // closed by the handler
	done      bool  // the exchange is over; the reader belongs to the next request
	expect    bool  // 100 Continue not yet sent
	err       error // sticky framing or I/O error: the conn cannot be reused
}

var errBodyAfterHandler = errors.New("h1server: request body read after the handler returned")

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.done:
		return 0, errBodyAfterHandler
	case b.closed:
		return 0, http.ErrBodyReadAfterClose
	}
	if b.expect {
		b.expect = false
		if !b.sawEOF && b.err == nil {
			b.res.writeContinue()
		}
	}
	return b.readLocked(p)
}

func (b *body) readLocked(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.sawEOF {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	var n int
	var err error
	if b.mode == bodyChunked {
		n, err = b.cr.read(p)
		if err == io.EOF {
			b.sawEOF = true
			return n, io.EOF
		}
	} else {
		if int64(len(p)) > b.remaining {
			p = p[:b.remaining]
		}
		n, err = b.br.Read(p)
		b.remaining -= int64(n)
		if b.remaining == 0 {
			b.sawEOF = true
			return n, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// Close marks the body closed; what is left is drained (or the connection
// closed) by the server after the handler, as net/http does.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// drain reads and discards what the handler left, at most
// maxPostHandlerReadBytes, and reports whether the body was consumed to
// its end so the connection can carry another request. A body whose 100
// Continue was never sent is not drained: the client may be waiting for it.
func (b *body) drain() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sawEOF {
		return true
	}
	if b.err != nil || b.expect && !b.res.continueSent.Load() {
		return false
	}
	if b.mode == bodyLength {
		if b.remaining >= maxPostHandlerReadBytes {
			return false
		}
		n, err := b.br.Discard(int(b.remaining))
		b.remaining -= int64(n)
		if err != nil {
			b.err = err
			return false
		}
		b.sawEOF = true
		return true
	}
	var buf [512]byte
	for total := 0; total <= maxPostHandlerReadBytes; {
		n, err := b.readLocked(buf[:])
		total += n
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// finish ends the body's life with its exchange: later Reads fail instead
// of stealing the next request's bytes.
func (b *body) finish() {
	b.mu.Lock()
	b.done = true
	b.mu.Unlock()
}

var (
	errChunkSize       = &statusError{http.StatusBadRequest, "invalid chunk size line"}
	errChunkDataEnd    = &statusError{http.StatusBadRequest, "missing CRLF after chunk data"}
	errTrailerLine     = &statusError{http.StatusBadRequest, "invalid trailer line"}
	errTrailerTooLarge = &statusError{http.StatusBadRequest, "trailer section too large"}
)

// chunkedReader is the shared decoder with its framing errors translated
// into the server's statusError values (400 Bad Request). The server sets
// RejectFramingTrailers when it builds one.
type chunkedReader struct{ h1wire.ChunkedReader }

var chunkErrs = h1wire.ChunkErrors{Size: errChunkSize, DataEnd: errChunkDataEnd, TrailerLine: errTrailerLine, TrailerTooLarge: errTrailerTooLarge}

func (cr *chunkedReader) read(p []byte) (int, error) {
	n, err := cr.Read(p)
	return n, chunkErrs.Map(err)
}
