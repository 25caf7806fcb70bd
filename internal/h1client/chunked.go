package h1client

import (
	"bufio"
	"io"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/h1wire"
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
		if !h1wire.IsToken(k) {
			return errBadHeaderName
		}
		for _, v := range vv {
			if !h1wire.ValidFieldValue(v) {
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

// chunkedReader is the shared decoder with its framing errors translated
// into the client's protocolError values, so callers keep seeing
// ErrMalformedResponse (and a proxy keeps answering 502).
type chunkedReader struct{ h1wire.ChunkedReader }

var chunkErrs = h1wire.ChunkErrors{Size: errChunkSize, DataEnd: errChunkDataEnd, TrailerLine: errTrailerLine, TrailerTooLarge: errTrailerTooLarge}

func (cr *chunkedReader) read(p []byte) (int, error) {
	n, err := cr.Read(p)
	return n, chunkErrs.Map(err)
}
