package h1client

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// maxInterim bounds the 1xx responses accepted before the final one, so a
// server cannot keep a round trip busy forever with 100 Continue or 103
// Early Hints. It is net/http's Transport's limit, so a proxy relays the
// same number whichever transport reaches the upstream; one more is a
// malformed response.
const maxInterim = 5

// span locates one header field in the head buffer.
type span struct{ ks, ke, vs, ve int32 }

// readResponse reads the final response head, decides the body framing and
// returns the response. On error the connection is closed.
//
// The head is copied into a per-connection scratch buffer, keys are
// canonicalised in place, and the whole head is converted to a string once:
// every key, value and Status is a substring of it, so all header strings
// cost a single allocation.
func (c *conn) readResponse(req *http.Request) (*http.Response, error) {
	t := c.hp.t
	if t.headerTimeout > 0 {
		c.setHeaderDeadline(t.headerTimeout)
	}
	var (
		head        []byte
		code, minor int
	)
	for interim := 0; ; interim++ {
		h, err := c.readHead(t.maxHeader)
		if err != nil {
			return nil, c.fail(c.headErr(err, len(h) == 0 && interim == 0))
		}
		if code, minor, err = parseStatusLine(h); err != nil {
			return nil, c.fail(err)
		}
		if code >= 200 || code == http.StatusSwitchingProtocols {
			head = h
			break
		}
		if interim == maxInterim {
			return nil, c.fail(errTooManyInterim)
		}
		// An interim response ends at its head whatever its fields say,
		// but a malformed field line means the origin's framing cannot be
		// trusted for what follows either (net/http refuses it too), so
		// gotInterim checks the fields whether or not it relays them.
		if err := c.gotInterim(req, code, h); err != nil {
			return nil, c.fail(err)
		}
	}
	if t.headerTimeout > 0 {
		c.clearReadDeadline()
	}
	spans, err := parseFields(head, c.bufs.spans[:0])
	c.bufs.spans = spans
	if err != nil {
		return nil, c.fail(err)
	}

	s := string(head)
	statusEnd := strings.IndexByte(s, '\n')
	if statusEnd > 0 && s[statusEnd-1] == '\r' {
		statusEnd--
	}
	var rb *responseBody
	noBody := code == http.StatusNoContent || code == http.StatusNotModified ||
		code < 200 || req.Method == http.MethodHead
	if !noBody {
		rb = new(responseBody)
	}
	h := make(http.Header, len(spans))
	// One backing array for all values; for typical responses it lives
	// inside the responseBody allocation.
	var strs []string
	if rb != nil && len(spans) <= len(rb.values) {
		strs = rb.values[:len(spans)]
	} else {
		strs = make([]string, len(spans))
	}
	for i, sp := range spans {
		k, v := s[sp.ks:sp.ke], s[sp.vs:sp.ve]
		if vv := h[k]; vv != nil {
			h[k] = append(vv, v)
		} else {
			strs[i] = v
			h[k] = strs[i : i+1 : i+1]
		}
	}

	cl := int64(-1)
	if vv := h["Content-Length"]; vv != nil {
		if cl, err = parseContentLength(vv); err != nil {
			return nil, c.fail(err)
		}
		if len(vv) > 1 || strings.IndexByte(vv[0], ',') >= 0 {
			// Agreeing repeats: pass on one value, as net/http does.
			h["Content-Length"] = []string{strconv.FormatInt(cl, 10)}
		}
	}
	chunked := false
	if vv := h["Transfer-Encoding"]; vv != nil {
		switch {
		case minor == 0:
			return nil, c.fail(errTEOnHTTP10)
		case len(vv) != 1 || !strings.EqualFold(strings.Trim(vv[0], " \t"), "chunked"):
			if cl >= 0 || !unchunkedCodings(vv) {
				return nil, c.fail(errTransferEnc)
			}
			// RFC 9112 §6.3 (4): codings without chunked: the body runs
			// until the server closes; the default case below reads it so.
			delete(h, "Transfer-Encoding")
		case cl >= 0:
			return nil, c.fail(errCLAndChunked)
		default:
			chunked = true
		}
	}
	var trailer http.Header
	if vv := h["Trailer"]; vv != nil && chunked {
		// Checked for bodiless responses too: the declaration is the
		// origin's, whether or not this response carries the body.
		if trailer, err = announcedTrailers(vv); err != nil {
			return nil, c.fail(err)
		}
	}
	keepAlive := minor == 1
	for _, v := range h["Connection"] {
		if h1wire.HasToken(v, "close") {
			keepAlive = false
			break
		}
		if minor == 0 && h1wire.HasToken(v, "keep-alive") {
			keepAlive = true
		}
	}

	c.idleLimit = 0
	if vv := h["Keep-Alive"]; vv != nil && keepAlive {
		c.idleLimit = keepAliveLimit(vv)
		if c.idleLimit < 0 {
			keepAlive = false
		}
	}

	var resp *http.Response
	if noBody {
		resp = new(http.Response)
	} else {
		resp = &rb.resp
	}
	resp.Status = s[9:statusEnd]
	resp.StatusCode = code
	resp.Proto = "HTTP/1.1"
	resp.ProtoMajor, resp.ProtoMinor = 1, minor
	if minor == 0 {
		resp.Proto = "HTTP/1.0"
	}
	resp.Header = h
	resp.Request = req
	resp.Close = !keepAlive || c.noReuse

	if code == http.StatusSwitchingProtocols {
		if err := c.detach(); err != nil {
			c.nc.Close()
			return nil, &opError{op: "read response", addr: c.hp.addr, err: err}
		}
		resp.Body = &upgradeBody{nc: c.nc, br: c.bufs.br}
		c.bufs = nil // owned by the upgraded connection now
		return resp, nil
	}
	if noBody {
		resp.Body = http.NoBody
		if req.Method == http.MethodHead {
			resp.ContentLength = cl
		}
		c.release(keepAlive)
		return resp, nil
	}

	b := &rb.body
	b.c, b.owner, b.gen, b.br, b.keep = c, c, c.gen, c.bufs.br, keepAlive
	switch {
	case chunked:
		delete(h, "Transfer-Encoding")
		resp.TransferEncoding = []string{"chunked"}
		if trailer != nil {
			delete(h, "Trailer")
			resp.Trailer = trailer
		}
		b.mode = bodyChunked
		b.chunked = chunkedReader{h1wire.ChunkedReader{BR: c.bufs.br, Trailer: &resp.Trailer, MaxTrailer: t.maxHeader}}
		resp.ContentLength = -1
	case cl >= 0:
		b.mode = bodyLength
		b.remaining = cl
		resp.ContentLength = cl
		if cl == 0 {
			// Nothing to read: pool the connection now, not at the
			// caller's first Read.
			b.mode = bodyDone
			b.c = nil
			c.release(keepAlive)
		}
	default:
		b.mode = bodyUntilClose
		b.keep = false
		resp.Close = true
		resp.ContentLength = -1
	}
	resp.Body = b
	return resp, nil
}

// fail closes the connection after a failed exchange and passes err on.
func (c *conn) fail(err error) error {
	c.release(false)
	return err
}

// headErr classifies a failure to read the response head. Nothing received
// on a reused connection is the stale keep-alive signature.
func (c *conn) headErr(err error, nothingReceived bool) error {
	if errors.Is(err, ErrMalformedResponse) {
		return err
	}
	c.mu.Lock()
	aerr := c.abortErr
	c.mu.Unlock()
	if aerr != nil {
		return &opError{op: "read response", addr: c.hp.addr, err: aerr}
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		// The only read deadline we set without aborting is the header one.
		return &timeoutError{err: err}
	}
	if !nothingReceived {
		err = h1wire.UnexpectedEOF(err)
	}
	return &opError{op: "read response", addr: c.hp.addr, err: err, retryable: c.reused && nothingReceived}
}

// readHead reads one head, status line through the empty line, into the
// connection's scratch buffer. Lines longer than the bufio buffer are
// assembled piecewise; the total is bounded by limit.
func (c *conn) readHead(limit int) ([]byte, error) {
	buf, err := h1wire.ReadHead(c.bufs.br, c.bufs.head, limit, false)
	c.bufs.head = buf
	if err == h1wire.ErrHeadTooLarge {
		err = errHeaderTooLarge
	}
	return buf, err
}

// parseStatusLine parses "HTTP/1.x NNN[ reason]" at the start of head.
func parseStatusLine(head []byte) (code, minor int, err error) {
	end := bytes.IndexByte(head, '\n')
	line := head[:end]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, 0, errStatusLine
	}
	switch line[7] {
	case '0':
		minor = 0
	case '1':
		minor = 1
	default:
		return 0, 0, errStatusLine
	}
	for _, b := range line[9:12] {
		if b < '0' || b > '9' {
			return 0, 0, errStatusLine
		}
		code = code*10 + int(b-'0')
	}
	// Codes below 100 would make net/http's ResponseWriter.WriteHeader
	// panic in the proxy.
	if code < 100 {
		return 0, 0, errStatusLine
	}
	return code, minor, nil
}

// parseFields validates the header lines after the status line, rewrites
// keys to canonical form in place and records where each field is. An
// obs-fold continuation is merged into the previous value by overwriting the
// line break with spaces (RFC 9112 section 5.2 allows exactly that), so even
// folded values stay contiguous.
func parseFields(head []byte, spans []span) ([]span, error) {
	pos := bytes.IndexByte(head, '\n') + 1
	for pos < len(head) {
		nl := pos + bytes.IndexByte(head[pos:], '\n')
		end := nl
		if end > pos && head[end-1] == '\r' {
			end--
		}
		if end == pos { // the empty line that ends the head
			break
		}
		if b := head[pos]; b == ' ' || b == '\t' {
			if len(spans) == 0 {
				return spans, errLeadingFold
			}
			vs, ve := h1wire.TrimOWSRange(head, pos, end)
			if vs < ve {
				if !h1wire.ValidFieldValueBytes(head[vs:ve]) {
					return spans, errHeaderValue
				}
				prev := &spans[len(spans)-1]
				if prev.vs == prev.ve {
					prev.vs = int32(vs) // empty so far: no leading blanks
				}
				for i := prev.ve; i < int32(vs); i++ {
					head[i] = ' '
				}
				prev.ve = int32(ve)
			}
			pos = nl + 1
			continue
		}
		colon, vs, ve, ferr := h1wire.ParseFieldLine(head, pos, end)
		switch ferr {
		case h1wire.FieldBadLine:
			return spans, errHeaderLine
		case h1wire.FieldBadValue:
			return spans, errHeaderValue
		}
		spans = append(spans, span{int32(pos), int32(colon), int32(vs), int32(ve)})
		pos = nl + 1
	}
	return spans, nil
}

// parseContentLength accepts repeated or comma-listed values only when they
// agree (RFC 9110 section 8.6); anything else is a framing attack.
func parseContentLength(vv []string) (int64, error) {
	n := int64(-1)
	for _, v := range vv {
		for {
			elem, rest, more := strings.Cut(v, ",")
			m, ok := h1wire.ParseDecimal(strings.Trim(elem, " \t"))
			if !ok {
				return 0, errContentLength
			}
			if n >= 0 && m != n {
				return 0, errMultipleCL
			}
			n = m
			if !more {
				break
			}
			v = rest
		}
	}
	return n, nil
}

// announcedTrailers pre-populates resp.Trailer with the keys of the Trailer
// header, as net/http does, so a proxy can announce them before the body.
// Declaring a framing field as a trailer is refused, as net/http does
// (RFC 9110 section 6.5.1: framing cannot be settled after the body).
func announcedTrailers(vv []string) (http.Header, error) {
	tr := make(http.Header)
	for _, v := range vv {
		for _, k := range strings.Split(v, ",") {
			k = http.CanonicalHeaderKey(strings.Trim(k, " \t"))
			switch k {
			case "":
				continue
			case "Transfer-Encoding", "Trailer", "Content-Length":
				return nil, errBadTrailerKey
			}
			tr[k] = nil
		}
	}
	return tr, nil
}

// upgradeBody is resp.Body after 101 Switching Protocols: the raw connection
// (with any bytes already buffered), readable and writable, as net/http
// returns it, so a proxy can tunnel.
type upgradeBody struct {
	nc net.Conn
	br *bufio.Reader
}

func (u *upgradeBody) Read(p []byte) (int, error) {
	if u.br.Buffered() > 0 {
		return u.br.Read(p)
	}
	return u.nc.Read(p)
}

func (u *upgradeBody) Write(p []byte) (int, error) { return u.nc.Write(p) }
func (u *upgradeBody) Close() error                { return u.nc.Close() }

var _ io.ReadWriteCloser = (*upgradeBody)(nil)

// unchunkedCodings reports a Transfer-Encoding of one field line whose
// codings are all tokens and none is chunked (e.g. an origin's unknown
// "x-custom"): RFC 9112 §6.3 frames such a response by the connection's
// close. Anything else (several lines, chunked not last or listed twice,
// an empty member) stays an error, as in Go's net/http.
func unchunkedCodings(vv []string) bool {
	if len(vv) != 1 {
		return false
	}
	for m := range strings.SplitSeq(vv[0], ",") {
		m = strings.Trim(m, " \t")
		if !h1wire.IsToken(m) || strings.EqualFold(m, "chunked") {
			return false
		}
	}
	return true
}
