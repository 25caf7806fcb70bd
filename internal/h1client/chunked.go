package h1client

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
)

// chunkHeaderRoom is reserved in front of each chunk's data for its size
// line: 8 hex digits cover any buffer we would ever use, plus CRLF.
const chunkHeaderRoom = 10

// writeChunkedBody sends body with chunked framing, then the trailers from
// tr (read only now, after the body, as net/http does). Each chunk is read
// straight into the writer's free space after a gap for its size line; the
// size is then written right-aligned into the gap and the whole slice is
// committed with one in-place Write, so data is copied once.
func writeChunkedBody(bw *bufio.Writer, body io.Reader, tr http.Header) error {
	var hdr [chunkHeaderRoom]byte
	for {
		// Keep chunks reasonably large; flushing is cheaper than framing
		// many tiny chunks.
		if bw.Available() < chunkHeaderRoom+2+512 {
			if err := bw.Flush(); err != nil {
				return writeError{err}
			}
		}
		avail := bw.AvailableBuffer()
		avail = avail[:cap(avail)]
		n, rerr := body.Read(avail[chunkHeaderRoom : len(avail)-2])
		if n > 0 {
			h := strconv.AppendInt(hdr[:0], int64(n), 16)
			h = append(h, '\r', '\n')
			start := chunkHeaderRoom - len(h)
			copy(avail[start:], h)
			bw.Write(avail[start : chunkHeaderRoom+n])
			bw.WriteString("\r\n")
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return &bodyReadError{rerr}
		}
	}
	bw.WriteString("0\r\n")
	for k, vv := range tr {
		if !isToken(k) {
			return errBadHeaderName
		}
		for _, v := range vv {
			if !validFieldValue(v) {
				return errBadHeaderValue
			}
			bw.WriteString(k)
			bw.WriteString(": ")
			bw.WriteString(v)
			bw.WriteString("\r\n")
		}
	}
	bw.WriteString("\r\n")
	return nil
}

// Chunked decoding states.
const (
	chunkSize    = iota // expecting a chunk-size line
	chunkData           // inside chunk data; chunkedReader.n bytes left
	chunkDataEnd        // expecting the CRLF after chunk data
	chunkTrailer        // reading trailer fields after the last chunk
	chunkDone
)

// chunkedReader decodes a chunked response body from the connection's
// reader. It is strict where laxness enables smuggling (CRLF after data and
// on size lines, hex only, bounded size) and it never blocks to read framing
// once it has data to return, so streamed responses (SSE, long polling)
// reach the client as soon as each chunk arrives.
type chunkedReader struct {
	br           *bufio.Reader
	state        uint8
	n            int64 // bytes left in the current chunk
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
				// Already have data: take only what needs no syscall.
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

// step consumes one framing line.
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
	if i <= 0 || !isTokenBytes(line[:i]) {
		return errTrailerLine
	}
	v := trimOWS(line[i+1:])
	if !validFieldValueBytes(v) {
		return errTrailerLine
	}
	if *cr.trailer == nil {
		*cr.trailer = make(http.Header)
	}
	k := textproto.CanonicalMIMEHeaderKey(string(line[:i]))
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

// lineBuffered reports whether a whole line is already in the buffer, so
// reading it cannot block.
func (cr *chunkedReader) lineBuffered() bool {
	b, _ := cr.br.Peek(cr.br.Buffered())
	return bytes.IndexByte(b, '\n') >= 0
}

// parseChunkSize parses "1a3f[;ext]\r\n". Extensions are ignored but must not
// contain control characters; bare LF line ends are refused (CVE-2025-22871
// class smuggling).
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
