package h1wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/textproto"
)

// Errors returned by ChunkedReader.Read for malformed framing. They are
// sentinels, compared with ==, so that the client and server can translate
// them into their own error values without allocating on hostile input.
var (
	ErrChunkSize       = errors.New("invalid chunk size line")
	ErrChunkDataEnd    = errors.New("missing CRLF after chunk data")
	ErrTrailerLine     = errors.New("invalid trailer line")
	ErrTrailerTooLarge = errors.New("trailer section too large")
)

// ChunkErrors are a caller's own values for the framing errors above
// (the server's 400s, the client's malformed-response errors).
type ChunkErrors struct {
	Size, DataEnd, TrailerLine, TrailerTooLarge error
}

// Map returns the caller's value for a framing error, and any other
// error (I/O, io.EOF) unchanged.
func (e *ChunkErrors) Map(err error) error {
	switch err {
	case ErrChunkSize:
		return e.Size
	case ErrChunkDataEnd:
		return e.DataEnd
	case ErrTrailerLine:
		return e.TrailerLine
	case ErrTrailerTooLarge:
		return e.TrailerTooLarge
	}
	return err
}

// Chunked decoding states.
const (
	chunkSize    = iota // expecting a chunk-size line
	chunkData           // inside chunk data; ChunkedReader.n bytes left
	chunkDataEnd        // expecting the CRLF after chunk data
	chunkTrailer        // reading trailer fields after the last chunk
	chunkDone
)

// ChunkedReader decodes a chunked message body (RFC 9112 section 7.1)
// from a connection's bufio.Reader. It is strict where laxness enables
// request smuggling: CRLF is required after data and on size lines (no
// bare LF), sizes are hex only and bounded, and every framing line must fit
// in the bufio buffer. It never blocks to read framing once it has data to
// return, so streamed bodies (SSE, long polling) are delivered as soon as
// each chunk arrives.
//
// It is meant to be embedded by value in a body struct (the zero state
// expects a size line) and set up with a composite literal, so that
// starting a body costs no allocation.
type ChunkedReader struct {
	// BR is the connection's reader; framing lines longer than its buffer
	// are refused.
	BR *bufio.Reader
	// Trailer receives the trailer fields; the map is created on the first
	// one (a nil map stays nil when there are none, as in net/http).
	Trailer *http.Header
	// MaxTrailer bounds the total bytes of trailer lines.
	MaxTrailer int
	// RejectFramingTrailers refuses Transfer-Encoding, Content-Length,
	// Trailer and Host in the trailer section. The server sets it: a
	// request's framing and routing must never be settled after its body.
	// The client leaves it unset to pass such trailers through as it
	// always has.
	RejectFramingTrailers bool

	state        uint8
	n            int64 // bytes left in the current chunk
	trailerBytes int
}

// Read reads decoded body bytes into p. It returns io.EOF after the
// terminating chunk and trailer section, io.ErrUnexpectedEOF if the
// connection ends early, one of the Err* sentinels for malformed framing,
// or the reader's own error.
func (cr *ChunkedReader) Read(p []byte) (n int, err error) {
	for n < len(p) {
		switch cr.state {
		case chunkData:
			q := p[n:]
			if int64(len(q)) > cr.n {
				q = q[:cr.n]
			}
			if n > 0 {
				// Already have data: take only what needs no syscall.
				if b := cr.BR.Buffered(); b == 0 {
					return n, nil
				} else if len(q) > b {
					q = q[:b]
				}
			}
			m, err := cr.BR.Read(q)
			n += m
			cr.n -= int64(m)
			if err != nil {
				return n, UnexpectedEOF(err)
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
			line, err := cr.BR.ReadSlice('\n')
			if err != nil {
				if err == bufio.ErrBufferFull {
					return n, cr.lineTooLong()
				}
				return n, UnexpectedEOF(err)
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

// step consumes one framing line.
func (cr *ChunkedReader) step(line []byte) error {
	switch cr.state {
	case chunkDataEnd:
		if len(line) != 2 || line[0] != '\r' {
			return ErrChunkDataEnd
		}
		cr.state = chunkSize
	case chunkSize:
		size, err := ParseChunkSize(line)
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
			return ErrTrailerLine
		}
		if len(line) == 2 {
			cr.state = chunkDone
			return nil
		}
		cr.trailerBytes += len(line)
		if cr.trailerBytes > cr.MaxTrailer {
			return ErrTrailerTooLarge
		}
		return cr.addTrailer(line[:len(line)-2])
	}
	return nil
}

func (cr *ChunkedReader) addTrailer(line []byte) error {
	i := bytes.IndexByte(line, ':')
	if i <= 0 || !IsTokenBytes(line[:i]) {
		return ErrTrailerLine
	}
	v := TrimOWS(line[i+1:])
	if !ValidFieldValueBytes(v) {
		return ErrTrailerLine
	}
	k := textproto.CanonicalMIMEHeaderKey(string(line[:i]))
	if cr.RejectFramingTrailers {
		switch k {
		case "Transfer-Encoding", "Content-Length", "Trailer", "Host":
			return ErrTrailerLine
		}
	}
	if *cr.Trailer == nil {
		*cr.Trailer = make(http.Header)
	}
	(*cr.Trailer)[k] = append((*cr.Trailer)[k], string(v))
	return nil
}

// lineTooLong names the framing line that overflowed the buffer.
func (cr *ChunkedReader) lineTooLong() error {
	switch cr.state {
	case chunkDataEnd:
		return ErrChunkDataEnd
	case chunkTrailer:
		return ErrTrailerLine
	}
	return ErrChunkSize
}

// lineBuffered reports whether a whole line is already in the buffer, so
// reading it cannot block.
func (cr *ChunkedReader) lineBuffered() bool {
	b, _ := cr.BR.Peek(cr.BR.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// ParseChunkSize parses a chunk-size line, "1a3f[;ext]\r\n". Extensions
// are ignored but must not contain control characters; bare LF line ends
// are refused (CVE-2025-22871 class smuggling). At most 15 hex digits are
// accepted so the size cannot overflow int64.
func ParseChunkSize(line []byte) (int64, error) {
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return 0, ErrChunkSize
	}
	line = line[:len(line)-2]
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		if !ValidFieldValueBytes(line[i:]) {
			return 0, ErrChunkSize
		}
		line = bytes.TrimRight(line[:i], " \t")
	}
	if len(line) == 0 || len(line) > 15 { // < 2^60: no overflow
		return 0, ErrChunkSize
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
			return 0, ErrChunkSize
		}
		n = n<<4 | int64(b)
	}
	return n, nil
}

// UnexpectedEOF turns a clean EOF inside a body into io.ErrUnexpectedEOF:
// the connection ended before the framing said the body did.
func UnexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
