package h1client

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// checkRequest validates what RoundTrip needs before it takes a connection,
// and returns the body length to frame: > 0 Content-Length, -1 chunked,
// 0 none.
func checkRequest(req *http.Request, body io.ReadCloser) (int64, error) {
	u := req.URL
	if u == nil {
		return 0, errNilURL
	}
	if u.Scheme != "http" {
		return 0, errScheme
	}
	if u.Host == "" {
		return 0, errNoHost
	}
	if req.Method != "" && !h1wire.IsToken(req.Method) {
		return 0, errBadMethod
	}
	host := req.Host
	if host == "" {
		host = u.Host
	}
	if !validHost(host) {
		return 0, errBadHost
	}
	cl := req.ContentLength
	if body == nil {
		if cl > 0 {
			return 0, errNilBody
		}
		return 0, nil
	}
	if cl < 0 {
		cl = -1
	}
	return cl, nil
}

// writeRequest writes the request line, headers and body through a pooled
// buffered writer, flushing once for a request that fits in the buffer.
// Network failures come back as *opError (retryable on a reused connection);
// failures reading req.Body or validating headers come back as other errors.
func (c *conn) writeRequest(req *http.Request, body io.Reader, cl int64) error {
	bw := getWriter(c.nc)
	defer putWriter(bw)

	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	bw.WriteString(method)
	bw.WriteByte(' ')
	if err := writeRequestURI(bw, req); err != nil {
		return err
	}
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	if req.Host != "" {
		bw.WriteString(req.Host)
	} else {
		bw.WriteString(req.URL.Host)
	}
	bw.WriteString("\r\n")

	connClose := false
	for k, vv := range req.Header {
		switch skipRequestHeader(k) {
		case skip:
			continue
		case connection:
			for _, v := range vv {
				if h1wire.HasToken(v, "close") {
					connClose = true
				}
			}
		}
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
	if req.Close && !connClose {
		bw.WriteString("Connection: close\r\n")
	}
	if connClose || req.Close {
		c.noReuse = true
	}
	switch {
	case cl > 0:
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), cl, 10))
		bw.WriteString("\r\n")
	case cl < 0:
		bw.WriteString("Transfer-Encoding: chunked\r\n")
		if len(req.Trailer) > 0 {
			if err := writeTrailerDecl(bw, req.Trailer); err != nil {
				return err
			}
		}
	case method == "POST" || method == "PUT" || method == "PATCH":
		// Like net/http: many servers answer 411 without it.
		bw.WriteString("Content-Length: 0\r\n")
	}
	bw.WriteString("\r\n")

	var err error
	switch {
	case cl > 0:
		err = writeLengthBody(bw, body, cl)
	case cl < 0:
		err = writeChunkedBody(bw, body, req.Trailer)
	}
	if err != nil {
		if we, ok := err.(writeError); ok {
			return c.writeErr(we.err)
		}
		return err // req.Body failed: not retryable, the connection is closed
	}
	if err := bw.Flush(); err != nil {
		return c.writeErr(err)
	}
	return nil
}

// writeErr wraps a network write failure. On a reused connection it is the
// stale keep-alive signature, which RoundTrip may retry.
func (c *conn) writeErr(err error) error {
	return &opError{op: "write request", addr: c.hp.addr, err: err, retryable: c.reused}
}

// writeError marks an error from the connection (as opposed to one from
// req.Body) inside the body copy loops.
type writeError struct{ err error }

func (e writeError) Error() string { return e.err.Error() }
func (e writeError) Unwrap() error { return e.err }

// bodyReadError is a failure of req.Body itself.
type bodyReadError struct{ err error }

func (e *bodyReadError) Error() string { return "h1client: read request body: " + e.err.Error() }
func (e *bodyReadError) Unwrap() error { return e.err }

// writeLengthBody copies exactly n bytes of body, reading straight into the
// writer's free space so the data is copied once.
func writeLengthBody(bw *bufio.Writer, body io.Reader, n int64) error {
	for n > 0 {
		if bw.Available() == 0 {
			if err := bw.Flush(); err != nil {
				return writeError{err}
			}
		}
		buf := bw.AvailableBuffer()
		buf = buf[:min(int64(cap(buf)), n)]
		m, rerr := body.Read(buf)
		if m > 0 {
			bw.Write(buf[:m]) // same memory: only advances the buffer
			n -= int64(m)
		}
		if rerr == io.EOF {
			if n > 0 {
				return errBodyShort
			}
			break
		}
		if rerr != nil {
			return &bodyReadError{rerr}
		}
	}
	return nil
}

// writeRequestURI writes the origin-form target. It rejects control
// characters and spaces, which would let a crafted URL split the request.
func writeRequestURI(bw *bufio.Writer, req *http.Request) error {
	u := req.URL
	if u.Opaque != "" {
		uri := u.RequestURI()
		if !validURIPart(uri) {
			return errBadURI
		}
		bw.WriteString(uri)
		return nil
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if !validURIPart(p) || !validURIPart(u.RawQuery) {
		return errBadURI
	}
	bw.WriteString(p)
	if u.ForceQuery || u.RawQuery != "" {
		bw.WriteByte('?')
		bw.WriteString(u.RawQuery)
	}
	return nil
}

const (
	keep = iota
	skip
	connection
)

// skipRequestHeader picks out headers the transport owns: Host comes from
// req.Host, and framing (Content-Length, Transfer-Encoding, Trailer) from the
// body, so a stale copy in req.Header can never contradict the real framing.
func skipRequestHeader(k string) int {
	switch len(k) {
	case 4:
		if strings.EqualFold(k, "Host") {
			return skip
		}
	case 7:
		if strings.EqualFold(k, "Trailer") {
			return skip
		}
	case 10:
		if strings.EqualFold(k, "Connection") {
			return connection
		}
	case 14:
		if strings.EqualFold(k, "Content-Length") {
			return skip
		}
	case 17:
		if strings.EqualFold(k, "Transfer-Encoding") {
			return skip
		}
	}
	return keep
}

func writeTrailerDecl(bw *bufio.Writer, tr http.Header) error {
	bw.WriteString("Trailer: ")
	first := true
	for k := range tr {
		if !h1wire.IsToken(k) {
			return errBadHeaderName
		}
		if !first {
			bw.WriteString(", ")
		}
		first = false
		bw.WriteString(k)
	}
	bw.WriteString("\r\n")
	return nil
}

func validURIPart(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b <= ' ' || b == 0x7f {
			return false
		}
	}
	return true
}

func validHost(h string) bool {
	if h == "" {
		return false
	}
	for i := 0; i < len(h); i++ {
		if b := h[i]; b <= ' ' || b == 0x7f || b == '/' || b == '\\' || b == '@' {
			return false
		}
	}
	return true
}
