package h1server

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

var statusText = http.StatusText

// response is the http.ResponseWriter. Body bytes are held in a small
// pending buffer until the handler returns, flushes or writes more than
// fits; that is when the framing is chosen (Content-Length computed from
// what was written, else chunked for HTTP/1.1 or close-delimited for
// HTTP/1.0) and the head and body go out through the connection's one
// bufio.Writer, flushed once per response.
//
// The header fields are serialised into the bufio.Writer when WriteHeader
// is called (explicitly or by the first Write), which snapshots them as
// net/http's clone does, without the clone; only the framing fields
// (Content-Length, Transfer-Encoding, Connection, Date) wait for the
// commit. Content-Type is never sniffed: a handler that wants one sets it.
type response struct {
	c    *conn
	req  *http.Request
	body *body // nil when the request has none

	header http.Header
	status int
	minor  int
	isHead bool

	wroteHeader bool // final (non-1xx) status chosen, fields serialised
	committed   bool // framing chosen, head complete in the writer
	handlerDone bool
	chunking    bool
	closeAfter  bool
	hijacked    bool
	fullDuplex  bool
	bodyAllowed bool
	wantsClose  bool // request said Connection: close
	keepAlive10 bool // HTTP/1.0 request asked for keep-alive
	hasDate     bool
	prefixTrail bool // a Header key starts with http.TrailerPrefix

	contentLength int64 // declared by the handler, or computed; -1 unknown
	written       int64
	te            string
	connHdr       []string
	trailers      []string
	outMark       int64 // conn bytes on the wire when the final head began

	continueSent atomic.Bool
	wmu          sync.Mutex // serialises writes that may come from a body-reading goroutine (100 Continue)
}

func (w *response) Header() http.Header {
	if w.header == nil {
		w.header = make(http.Header)
	}
	return w.header
}

func (w *response) WriteHeader(code int) {
	if w.hijacked {
		w.c.s.logf("h1server: WriteHeader on hijacked connection")
		return
	}
	if w.wroteHeader {
		w.c.s.logf("h1server: superfluous WriteHeader call")
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	bw := w.c.writer()
	if code < 200 && code != http.StatusSwitchingProtocols {
		if w.minor == 0 {
			// RFC 9110 §15.2: never a 1xx to an HTTP/1.0 client, which
			// would read it as the final response.
			return
		}
		// Informational: sent at once, the handler's fields included (as
		// net/http does, e.g. Link for 103), and the header stays as is.
		bw.Write(statusLine(w.minor, code))
		for k, vv := range w.header {
			if k != "Content-Length" && k != "Transfer-Encoding" {
				writeField(bw, k, vv)
			}
		}
		bw.WriteString("\r\n")
		bw.Flush()
		if code == http.StatusContinue {
			w.continueSent.Store(true)
		}
		return
	}
	w.wroteHeader = true
	w.status = code
	w.outMark = w.c.bytesOut
	w.bodyAllowed = code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
	bw.Write(statusLine(w.minor, code))
	for k, vv := range w.header {
		switch k {
		case "Content-Length":
			if len(vv) > 0 && w.bodyAllowed {
				if n, ok := h1wire.ParseDecimal(textproto.TrimString(vv[0])); ok {
					w.contentLength = n
				} else {
					w.c.s.logf("h1server: invalid Content-Length %q", vv[0])
				}
			}
			continue
		case "Transfer-Encoding":
			if len(vv) > 0 {
				w.te = vv[0]
			}
			continue
		case "Connection":
			w.connHdr = vv
			continue
		case "Date":
			w.hasDate = true
		case "Trailer":
			for _, v := range vv {
				for _, t := range strings.Split(v, ",") {
					t = http.CanonicalHeaderKey(textproto.TrimString(t))
					switch t {
					case "", "Transfer-Encoding", "Content-Length", "Trailer", "Connection", "Host":
						continue
					}
					w.trailers = append(w.trailers, t)
				}
			}
		case "Content-Type":
			if code == http.StatusNotModified {
				continue
			}
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			w.prefixTrail = true
			continue
		}
		writeField(bw, k, vv)
	}
}

func statusLine(minor, code int) []byte {
	if code < len(statusLines[0]) {
		return statusLines[minor][code]
	}
	return appendStatusLine(nil, minor, code)
}

// writeField writes one header field as net/http does: invalid names are
// dropped, CR/LF (and other controls but HTAB) in values become spaces.
func writeField(bw *bufio.Writer, k string, vv []string) {
	if !h1wire.IsToken(k) {
		return
	}
	for _, v := range vv {
		bw.WriteString(k)
		bw.WriteString(": ")
		bw.WriteString(cleanValue(v))
		bw.WriteString("\r\n")
	}
}

func cleanValue(v string) string {
	clean := len(v) == 0 || (v[0] != ' ' && v[0] != '\t' && v[len(v)-1] != ' ' && v[len(v)-1] != '\t')
	for i := 0; clean && i < len(v); i++ {
		if b := v[i]; b < ' ' && b != '\t' || b == 0x7f {
			clean = false
		}
	}
	if clean {
		return v
	}
	return textproto.TrimString(strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' || r == 0x7f {
			return ' '
		}
		return r
	}, v))
}

func (w *response) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if !w.bodyAllowed {
		return 0, http.ErrBodyNotAllowed
	}
	if err := w.c.werr; err != nil {
		return 0, err
	}
	w.written += int64(len(p))
	if w.contentLength != -1 && w.written > w.contentLength {
		return 0, http.ErrContentLength
	}
	if !w.committed {
		wb := w.c.wb
		if len(wb.pend)+len(p) <= cap(wb.pend) {
			wb.pend = append(wb.pend, p...)
			return len(p), nil
		}
		w.commit(false)
	}
	return w.writeBody(p)
}

func (w *response) WriteString(s string) (int, error) {
	// Small strings go to the pending buffer without a conversion.
	if !w.wroteHeader && !w.hijacked {
		w.WriteHeader(http.StatusOK)
	}
	if w.wroteHeader && !w.committed && w.bodyAllowed && !w.hijacked && w.c.werr == nil {
		wb := w.c.wb
		if n := int64(len(s)); n > 0 && len(wb.pend)+len(s) <= cap(wb.pend) &&
			(w.contentLength == -1 || w.written+n <= w.contentLength) {
			w.written += n
			wb.pend = append(wb.pend, s...)
			return len(s), nil
		}
	}
	return w.Write([]byte(s))
}

func (w *response) writeBody(p []byte) (int, error) {
	if w.isHead {
		return len(p), nil
	}
	bw := w.c.wb.bw
	if w.chunking {
		if bw.Available() < 20 {
			if err := bw.Flush(); err != nil {
				return 0, err
			}
		}
		b := strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16)
		bw.Write(append(b, '\r', '\n'))
		n, err := bw.Write(p)
		if err != nil {
			return n, err
		}
		_, err = bw.WriteString("\r\n")
		return n, err
	}
	return bw.Write(p)
}

// commit chooses the framing and completes the head (net/http's
// chunkWriter.writeHeader rules). final means the handler has returned,
// so a body that fit in the pending buffer gets a Content-Length.
func (w *response) commit(final bool) {
	if w.committed {
		return
	}
	w.committed = true
	wb := w.c.wb
	bw := wb.bw
	hasCL := w.contentLength >= 0
	trailers := len(w.trailers) > 0 || w.prefixTrail
	if final && !trailers && w.te == "" && w.bodyAllowed && !hasCL && (!w.isHead || w.written > 0) {
		w.contentLength = w.written
		hasCL = true
	}
	if w.minor == 0 {
		if !w.keepAlive10 || !(w.isHead || hasCL || !w.bodyAllowed) {
			w.closeAfter = true
		}
	} else if w.wantsClose {
		w.closeAfter = true
	}
	if headerHasToken(w.connHdr, "close") || !w.c.s.keepAlives() {
		w.closeAfter = true
	}
	// Read what the handler left of the request body before answering:
	// some clients send the whole request before reading the response.
	if w.body != nil && !w.closeAfter && !w.fullDuplex && !w.body.drain() {
		w.closeAfter = true
	}
	if hasCL && w.te != "" && w.te != "identity" {
		w.c.s.logf("h1server: handler set both Transfer-Encoding %q and Content-Length %d", w.te, w.contentLength)
		hasCL = false
		w.contentLength = -1
	}
	switch {
	case w.isHead || !w.bodyAllowed:
	case hasCL:
	case w.minor == 1 && w.te != "identity":
		w.chunking = true
	default:
		w.closeAfter = true
	}

	if bw.Available() < 64 {
		bw.Flush() // keep the appends below in the buffer, allocation-free
	}
	if hasCL && w.bodyAllowed {
		b := append(bw.AvailableBuffer(), "Content-Length: "...)
		b = strconv.AppendInt(b, w.contentLength, 10)
		bw.Write(append(b, '\r', '\n'))
	}
	if w.chunking {
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	}
	if !w.hasDate {
		bw.Write(dateLine())
	}
	switch {
	case w.status == http.StatusSwitchingProtocols:
		writeField(bw, "Connection", w.connHdr)
	case w.closeAfter:
		if w.minor == 1 {
			bw.WriteString("Connection: close\r\n")
		}
	case w.connHdr != nil:
		writeField(bw, "Connection", w.connHdr)
	case w.minor == 0:
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.WriteString("\r\n")
	if len(wb.pend) > 0 {
		p := wb.pend
		wb.pend = wb.pend[:0]
		w.writeBody(p)
	}
}

func (w *response) Flush() { w.FlushError() }

// FlushError sends what is buffered; http.ResponseController prefers it to
// Flush.
func (w *response) FlushError() error {
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(false)
	return w.c.wb.bw.Flush()
}

// finish completes the response after the handler returned and reports
// whether the connection can carry another request.
func (w *response) finish() bool {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.handlerDone = true
	w.commit(true)
	bw := w.c.wb.bw
	if w.chunking {
		bw.WriteString("0\r\n")
		for _, k := range w.trailers {
			writeField(bw, k, w.header[k])
		}
		// Like net/http, http.TrailerPrefix keys count whenever they were
		// set, even after the head went out.
		if len(w.header) > 0 {
			for k, vv := range w.header {
				if strings.HasPrefix(k, http.TrailerPrefix) {
					writeField(bw, k[len(http.TrailerPrefix):], vv)
				}
			}
		}
		bw.WriteString("\r\n")
	}
	if !w.isHead && w.bodyAllowed && w.contentLength != -1 && w.written != w.contentLength {
		// Declared more than written: the client would wait for bytes
		// that never come, or read them from the next response.
		w.closeAfter = true
	}
	if err := bw.Flush(); err != nil || w.c.werr != nil {
		return false
	}
	if w.closeAfter {
		return false
	}
	// A full-duplex handler may have answered before the body ended.
	return w.body == nil || w.body.drain()
}

// writeContinue sends "100 Continue" when the handler first reads a body
// whose client asked for it, unless the final status is already chosen.
func (w *response) writeContinue() {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	if w.wroteHeader || w.hijacked || w.continueSent.Load() || w.c.werr != nil {
		return
	}
	w.continueSent.Store(true)
	bw := w.c.writer()
	bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
	bw.Flush()
}

var errHijackAfterHandler = errors.New("h1server: Hijack called after the handler returned")

// Hijack hands the connection to the handler, with the bufio.Reader that
// holds any bytes already read past the request head. A response the
// handler already started (e.g. WriteHeader(101)) is flushed first.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if w.handlerDone {
		return nil, nil, errHijackAfterHandler
	}
	c := w.c
	if w.wroteHeader {
		w.commit(false)
	}
	w.wmu.Lock()
	w.hijacked = true
	w.wmu.Unlock()
	var bw *bufio.Writer
	if c.wb != nil {
		bw = c.wb.bw
		if err := bw.Flush(); err != nil {
			return nil, nil, err
		}
		c.wb = nil // given away with the connection
		bw.Reset(c.nc)
	} else {
		bw = bufio.NewWriter(c.nc)
	}
	br := c.hijack()
	return c.nc, bufio.NewReadWriter(br, bw), nil
}

// SetReadDeadline is for http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error {
	w.c.deadlineTouched = true
	return w.c.nc.SetReadDeadline(t)
}

// SetWriteDeadline is for http.ResponseController.
func (w *response) SetWriteDeadline(t time.Time) error {
	w.c.deadlineTouched = true
	return w.c.nc.SetWriteDeadline(t)
}

// EnableFullDuplex lets the handler read the request body after it began
// writing the response (the body is then not drained at commit). The
// synchronous engine supports it for free: reads and writes use separate
// buffers on the same goroutine or two.
func (w *response) EnableFullDuplex() error {
	w.fullDuplex = true
	return nil
}

var (
	_ http.ResponseWriter = (*response)(nil)
	_ http.Flusher        = (*response)(nil)
	_ http.Hijacker       = (*response)(nil)
)
