package filter

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/jsonxform"
	"github.com/gatehouse/gatehouse/internal/problem"
)

// DefaultBodyMaxBytes is the largest body a body transform reads when
// BodyConfig.MaxBytes is zero (and the configuration's default).
const DefaultBodyMaxBytes = 1 << 20

// Results a body transform counts, one per request or response it sees.
const (
	BodyTransformed     = "transformed"
	BodySkippedType     = "skipped_type"     // not a JSON content type
	BodySkippedEncoding = "skipped_encoding" // Content-Encoding other than identity
	BodySkippedSize     = "skipped_size"     // response larger than MaxBytes: passed through
	BodySkippedStatus   = "skipped_status"   // response without a whole body: HEAD, 1xx, 204, 206, 304
	BodySkippedWhen     = "skipped_condition"
	BodyTooLarge        = "too_large" // request larger than MaxBytes: 413
	BodyInvalid         = "invalid"   // request body not JSON: 400
	// BodyError: the transform failed. A response gets 502; a request 400
	// (the program could not handle what the client sent), or 500 when
	// the jq program ran out of time.
	BodyError = "error"
)

// BodyConfig is a request_body or response_body filter. The zero value
// (no Transform) passes bodies through.
//
// Trade-off: a transformed body is read whole into memory, up to
// MaxBytes, because JSON cannot be rewritten as a stream; everything the
// transform does not apply to (other content types, encoded bodies,
// responses past the bound) keeps streaming.
type BodyConfig struct {
	Transform *jsonxform.Transform
	// MaxBytes bounds the body read; 0 is DefaultBodyMaxBytes.
	MaxBytes int64
	// When decides whether the transform applies: for a request status
	// is 0 and h is r.Header, for a response they are the final status
	// and header. nil applies always.
	When func(r *http.Request, status int, h http.Header) bool
	// Count is told each result (the Body* constants); nil counts nothing.
	Count func(result string)
}

func (c *BodyConfig) count(result string) {
	if c.Count != nil {
		c.Count(result)
	}
}

func (c BodyConfig) withDefaults() BodyConfig {
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultBodyMaxBytes
	}
	return c
}

// isJSON reports whether a Content-Type is application/json or a
// +json structured syntax suffix type, parameters allowed.
func isJSON(ct string) bool {
	if ct == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// isProblem reports an RFC 9457 problem document.
func isProblem(ct string) bool {
	mt, _, _ := mime.ParseMediaType(ct)
	return mt == problem.ContentType
}

// encoded reports a Content-Encoding other than identity: the bytes are
// not JSON text until decoded, and the gateway does not decode them.
func encoded(h http.Header) bool {
	for _, v := range h.Values("Content-Encoding") {
		for _, e := range strings.Split(v, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "identity") {
				return true
			}
		}
	}
	return false
}

// RequestBody transforms JSON request bodies before the next handler
// sees them. A body past MaxBytes is refused (413), one that is not JSON
// too (400); the new body goes out with its exact Content-Length.
func RequestBody(c BodyConfig) func(http.Handler) http.Handler {
	c = c.withDefaults()
	return func(next http.Handler) http.Handler {
		if c.Transform == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
				next.ServeHTTP(w, r) // nothing to transform
				return
			}
			if !isJSON(r.Header.Get("Content-Type")) {
				c.count(BodySkippedType)
				next.ServeHTTP(w, r)
				return
			}
			if encoded(r.Header) {
				c.count(BodySkippedEncoding)
				next.ServeHTTP(w, r)
				return
			}
			if c.When != nil && !c.When(r, 0, r.Header) {
				c.count(BodySkippedWhen)
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > c.MaxBytes {
				// Refused unread (a client that sent Expect: 100-continue
				// never sends it); close, as request_limits does: the
				// unread body must not be parsed as the next request.
				c.count(BodyTooLarge)
				w.Header().Set("Connection", "close")
				problem.Write(w, r, http.StatusRequestEntityTooLarge, "the JSON body is larger than this route transforms")
				return
			}
			in, err := io.ReadAll(io.LimitReader(r.Body, c.MaxBytes+1))
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					c.count(BodyTooLarge)
					problem.Write(w, r, http.StatusRequestEntityTooLarge, "request body too large")
					return
				}
				c.count(BodyError)
				problem.Write(w, r, http.StatusBadRequest, "the request body could not be read")
				return
			}
			if int64(len(in)) > c.MaxBytes {
				c.count(BodyTooLarge)
				w.Header().Set("Connection", "close") // the rest is unread
				problem.Write(w, r, http.StatusRequestEntityTooLarge, "the JSON body is larger than this route transforms")
				return
			}
			out, err := c.Transform.ApplyBytes(in, r)
			if err != nil {
				if errors.Is(err, jsonxform.ErrInvalid) {
					c.count(BodyInvalid)
					problem.Write(w, r, http.StatusBadRequest, "the request body is not valid JSON")
					return
				}
				c.count(BodyError)
				if errors.Is(err, jsonxform.ErrJQTimeout) {
					problem.Write(w, r, http.StatusInternalServerError, "the request body transform did not finish in time")
					return
				}
				problem.Write(w, r, http.StatusBadRequest, "the request body could not be transformed")
				return
			}
			c.count(BodyTransformed)
			r.Body.Close()
			r.Body = io.NopCloser(bytes.NewReader(out))
			r.ContentLength = int64(len(out))
			r.Header.Set("Content-Length", strconv.Itoa(len(out)))
			if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
				// The proxy closes a connection that sent a chunked
				// request (see "Request smuggling" in package proxy);
				// the framing is dropped here, so the close is kept here.
				w.Header().Set("Connection", "close")
			}
			r.TransferEncoding = nil
			r.Header.Del("Transfer-Encoding")
			r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(out)), nil }
			next.ServeHTTP(w, r)
		})
	}
}

// ResponseBody transforms JSON responses. Only a final response that
// is JSON, not to HEAD, may have a body (not 204 or 304), is not
// Content-Encoded and does not announce more than MaxBytes is held back
// (not a 206 either: a range of JSON is not JSON);
// one that turns out longer is sent as it came from the first byte on.
// A transform that fails answers 502: the upstream sent something the
// route's contract does not cover.
func ResponseBody(c BodyConfig) func(http.Handler) http.Handler {
	c = c.withDefaults()
	return func(next http.Handler) http.Handler {
		if c.Transform == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			bw := &bodyWriter{ResponseWriter: w, c: &c, r: r}
			next.ServeHTTP(bw, r)
			bw.finish()
		})
	}
}

// bodyWriter holds back a response the transform applies to.
type bodyWriter struct {
	http.ResponseWriter
	c *BodyConfig
	r *http.Request

	decided bool // the final status arrived
	holding bool // buffering the body for the transform
	status  int
	buf     []byte
}

// hold decides, at the final status, whether to buffer the body, and
// counts the responses it lets through.
func (bw *bodyWriter) hold(status int) bool {
	h := bw.ResponseWriter.Header()
	switch status {
	case http.StatusSwitchingProtocols, http.StatusNoContent, http.StatusPartialContent, http.StatusNotModified:
		bw.c.count(BodySkippedStatus)
		return false
	}
	if bw.r.Method == http.MethodHead {
		bw.c.count(BodySkippedStatus)
		return false
	}
	// Trailers are set after the body, which a held response would
	// send as headers: such responses (rare for JSON) are not held.
	// Problem details (RFC 9457, the gateway's own error format) are
	// left alone: a transform written for the API's documents would
	// garble an error.
	ct := h.Get("Content-Type")
	if !isJSON(ct) || isProblem(ct) || h.Get("Trailer") != "" {
		bw.c.count(BodySkippedType)
		return false
	}
	if encoded(h) {
		bw.c.count(BodySkippedEncoding)
		return false
	}
	if cl := h.Get("Content-Length"); cl != "" {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n > bw.c.MaxBytes {
			bw.c.count(BodySkippedSize)
			return false
		}
		bw.buf = make([]byte, 0, n) // append would double past the bound
	}
	if bw.c.When != nil && !bw.c.When(bw.r, status, h) {
		bw.c.count(BodySkippedWhen)
		return false
	}
	return true
}

func (bw *bodyWriter) WriteHeader(code int) {
	if bw.decided {
		if !bw.holding {
			bw.ResponseWriter.WriteHeader(code) // net/http reports the superfluous call
		}
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		bw.ResponseWriter.WriteHeader(code) // interim: passes through
		return
	}
	bw.decided, bw.status = true, code
	if bw.holding = bw.hold(code); !bw.holding {
		bw.ResponseWriter.WriteHeader(code)
	}
}

func (bw *bodyWriter) Write(p []byte) (int, error) {
	if !bw.decided {
		bw.WriteHeader(http.StatusOK)
	}
	if !bw.holding {
		return bw.ResponseWriter.Write(p)
	}
	if int64(len(bw.buf)+len(p)) <= bw.c.MaxBytes {
		bw.buf = append(bw.buf, p...)
		return len(p), nil
	}
	// Past the bound: what is held goes out as it came, then the rest
	// streams.
	bw.c.count(BodySkippedSize)
	bw.holding = false
	bw.ResponseWriter.WriteHeader(bw.status)
	if len(bw.buf) > 0 {
		if _, err := bw.ResponseWriter.Write(bw.buf); err != nil {
			return 0, err
		}
	}
	bw.buf = nil
	return bw.ResponseWriter.Write(p)
}

// Flush passes through unless the body is held: a held JSON body goes
// out whole at the end.
func (bw *bodyWriter) Flush() {
	if !bw.decided {
		bw.WriteHeader(http.StatusOK)
	}
	if bw.holding {
		return
	}
	http.NewResponseController(bw.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the client's writer
// (deadlines, hijacking).
func (bw *bodyWriter) Unwrap() http.ResponseWriter { return bw.ResponseWriter }

// finish transforms and sends a held body.
func (bw *bodyWriter) finish() {
	if !bw.holding {
		return
	}
	bw.holding = false
	h := bw.ResponseWriter.Header()
	out, err := bw.c.Transform.ApplyBytes(bw.buf, bw.r)
	bw.buf = nil
	if err != nil {
		bw.c.count(BodyError)
		for _, k := range representationHeaders {
			delete(h, k)
		}
		problem.Write(bw.ResponseWriter, bw.r, http.StatusBadGateway, "the upstream response could not be transformed")
		return
	}
	bw.c.count(BodyTransformed)
	// The transformed body is another representation: validators and
	// digests of the upstream's no longer describe it.
	for _, k := range representationHeaders {
		delete(h, k)
	}
	h.Del("Transfer-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(out)))
	bw.ResponseWriter.WriteHeader(bw.status)
	bw.ResponseWriter.Write(out)
}

// representationHeaders describe the upstream's bytes, not the
// transformed ones.
// Last-Modified stays: the resource changed when it did, whatever the
// shape of its representation.
var representationHeaders = []string{"Etag", "Content-Md5", "Digest", "Content-Digest", "Repr-Digest", "Accept-Ranges"}
