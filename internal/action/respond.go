package action

import (
	"io"
	"net/http"
	"strconv"
)

// DefaultRespondStatus is a respond action's status when none is given.
const DefaultRespondStatus = http.StatusOK

// RespondConfig is a fixed response. The zero value answers
// DefaultRespondStatus with no body.
type RespondConfig struct {
	Status  int
	Headers map[string]string
	Body    string
}

// Respond answers directly from configuration: mocks, maintenance pages,
// health endpoints, the quickstart's demo backends. Everything is built
// once, so answering costs a header copy and one write.
type Respond struct {
	status int
	header http.Header
	body   []byte
}

// NewRespond compiles c.
func NewRespond(c RespondConfig) *Respond {
	h := http.Header{}
	for k, v := range c.Headers {
		h.Set(k, v)
	}
	if h.Get("Content-Type") == "" && c.Body != "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(c.Body)))
	status := c.Status
	if status == 0 {
		status = DefaultRespondStatus
	}
	return &Respond{status: status, header: h, body: []byte(c.Body)}
}

// readLimit bounds the request body Respond reads before it answers; a
// larger body is left to the server to discard or reset.
const readLimit = 64 << 10

func (a *Respond) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Answer once the request is complete (up to readLimit): an answer
	// sent earlier races the rest of the body, which then meets a reset
	// stream (HTTP/2) or connection, and a request whose framing turns
	// out malformed later (content-length not matching the DATA frames,
	// RFC 9113 §8.1.1) would get a 200 instead of the server's stream
	// error. A body that fails to read gets no answer: the server has
	// already answered or reset it.
	if r.Body != nil && r.Body != http.NoBody {
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, readLimit)); err != nil {
			return
		}
	}
	dst := w.Header()
	for k, v := range a.header {
		// Copy the slice: a response filter may append to it.
		dst[k] = append([]string(nil), v...)
	}
	if a.status == http.StatusNoContent || a.status == http.StatusNotModified || a.status < 200 {
		dst.Del("Content-Length")
		w.WriteHeader(a.status)
		return
	}
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead {
		w.Write(a.body)
	}
}
