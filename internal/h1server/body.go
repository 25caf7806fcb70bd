package h1server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"sync"
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

// Chunked decoding states.
const (
	chunkSize    = iota // expecting a chunk-size line
	chunkData           // inside chunk data; n bytes left
	chunkDataEnd        // expecting the CRLF after chunk data
	chunkTrailer        // reading trailer fields after the last chunk
	chunkDone
)

var (
	errChunkSize       = &statusError{http.StatusBadRequest, "invalid chunk size line"}
	errChunkDataEnd    = &statusError{http.StatusBadRequest, "missing CRLF after chunk data"}
	errTrailerLine     = &statusError{http.StatusBadRequest, "invalid trailer line"}
	errTrailerTooLarge = &statusError{http.StatusBadRequest, "trailer section too large"}
)

// chunkedReader decodes a chunked body (adapted from h1client): strict
// where laxness enables smuggling (CRLF after data and on size lines, hex
// only, bounded size and line length), and it never blocks to read framing
// once it has data to return.
type chunkedReader struct {
	br           *bufio.Reader
	state        uint8
	n            int64
	trailer      *http.Header
	trailerBytes int
	maxTrailer   int
}

func (cr *chunkedReader) read(p []byte) (n int, err error) {
	for n < len(p) {
		switch cr.state {
		case chunkData:
			q := p[n:]
			if int64(len(q)) > cr.n {
				q = q[:cr.n]
			}
			if n > 0 {
				if b := cr.br.Buffered(); b == 0 {
					return n, nil
				} else if len(q) > b {
					q = q[:b]
				}
			}
			m, err := cr.br.Read(q)
			n += m
			cr.n -= int64(m)
			if err != nil {
				return n, unexpectedEOF(err)
			}
			if cr.n == 0 {
				cr.state = chunkDataEnd
			}
		case chunkDone:
			return n, io.EOF
		default:
			if n > 0 && !cr.lineBuffered() {
				return n, nil
			}
			line, err := cr.br.ReadSlice('\n')
			if err != nil {
				if err == bufio.ErrBufferFull {
					return n, cr.lineTooLong()
				}
				return n, unexpectedEOF(err)
			}
			if err := cr.step(line); err != nil {
				return n, err
			}
			if cr.state == chunkDone {
				return n, io.EOF
			}
		}
	}
	return n, nil
}

func (cr *chunkedReader) step(line []byte) error {
	switch cr.state {
	case chunkDataEnd:
		if len(line) != 2 || line[0] != '\r' {
			return errChunkDataEnd
		}
		cr.state = chunkSize
	case chunkSize:
		size, err := parseChunkSize(line)
		if err != nil {
			return err
		}
		if size == 0 {
			cr.state = chunkTrailer
		} else {
			cr.n = size
			cr.state = chunkData
		}
	case chunkTrailer:
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return errTrailerLine
		}
		if len(line) == 2 {
			cr.state = chunkDone
			return nil
		}
		cr.trailerBytes += len(line)
		if cr.trailerBytes > cr.maxTrailer {
			return errTrailerTooLarge
		}
		return cr.addTrailer(line[:len(line)-2])
	}
	return nil
}

func (cr *chunkedReader) addTrailer(line []byte) error {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return errTrailerLine
	}
	for _, c := range line[:i] {
		if !tokenTable[c] {
			return errTrailerLine
		}
	}
	v := trimOWS(line[i+1:])
	if !validFieldValueBytes(v) {
		return errTrailerLine
	}
	k := textproto.CanonicalMIMEHeaderKey(string(line[:i]))
	switch k {
	case "Transfer-Encoding", "Content-Length", "Trailer", "Host":
		return errTrailerLine // framing fields never come from trailers
	}
	if *cr.trailer == nil {
		*cr.trailer = make(http.Header)
	}
	(*cr.trailer)[k] = append((*cr.trailer)[k], string(v))
	return nil
}

func (cr *chunkedReader) lineTooLong() error {
	switch cr.state {
	case chunkDataEnd:
		return errChunkDataEnd
	case chunkTrailer:
		return errTrailerLine
	}
	return errChunkSize
}

func (cr *chunkedReader) lineBuffered() bool {
	b, _ := cr.br.Peek(cr.br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// parseChunkSize parses "1a3f[;ext]\r\n". Extensions are ignored but must
// not contain control characters; bare LF line ends are refused.
func parseChunkSize(line []byte) (int64, error) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, errChunkSize
	}
	line = line[:len(line)-2]
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		if !validFieldValueBytes(line[i:]) {
			return 0, errChunkSize
		}
		line = bytes.TrimRight(line[:i], " \t")
	}
	if len(line) == 0 || len(line) > 15 { // < 2^60: no overflow
		return 0, errChunkSize
	}
	var n int64
	for _, b := range line {
		switch {
		case '0' <= b && b <= '9':
			b -= '0'
		case 'a' <= b && b <= 'f':
			b -= 'a' - 10
		case 'A' <= b && b <= 'F':
			b -= 'A' - 10
		default:
			return 0, errChunkSize
		}
		n = n<<4 | int64(b)
	}
	return n, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
