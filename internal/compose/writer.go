package compose

import (
	"bytes"
	"errors"
	"net/http"
)

// errTooLarge is what a step's handler gets from Write past the bound.
var errTooLarge = errors.New("compose: step response over the size bound")

// bufWriter is the ResponseWriter a step answers into: it keeps the
// status, header and at most max bytes of body; past that it refuses
// writes, so a large response costs max bytes, not its size.
type bufWriter struct {
	header  http.Header
	status  int
	buf     bytes.Buffer
	max     int64
	over    bool
	aborted bool
}

func (b *bufWriter) Header() http.Header {
	if b.header == nil {
		b.header = make(http.Header)
	}
	return b.header
}

func (b *bufWriter) WriteHeader(code int) {
	if b.status == 0 && code >= 200 {
		b.status = code
	}
}

func (b *bufWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	if b.over || int64(b.buf.Len())+int64(len(p)) > b.max {
		b.over = true
		return 0, errTooLarge
	}
	return b.buf.Write(p)
}
