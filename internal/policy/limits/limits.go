// Package limits refuses requests whose header or body is larger than a
// route allows: 431 for the header, 413 for the body.
package limits

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/respwriter"
)

// Config sets a route's limits; zero means no limit.
type Config struct {
	// MaxBodyBytes bounds the request body.
	MaxBodyBytes int64
	// MaxHeaderCount bounds the number of header field lines, Host
	// included (net/http moves it out of r.Header; it is counted back).
	MaxHeaderCount int
	// MaxHeaderBytes bounds the sum of the header names' and values'
	// lengths, Host included. It complements, and cannot raise, the
	// listener's own limit on the raw header block.
	MaxHeaderBytes int64
}

// Limits is a compiled Config. It is safe for concurrent use.
type Limits struct {
	cfg Config
}

// New checks cfg.
func New(cfg Config) (*Limits, error) {
	switch {
	case cfg.MaxBodyBytes < 0:
		return nil, errors.New("limits: max_body_bytes must not be negative")
	case cfg.MaxHeaderCount < 0:
		return nil, errors.New("limits: max_header_count must not be negative")
	case cfg.MaxHeaderBytes < 0:
		return nil, errors.New("limits: max_header_bytes must not be negative")
	}
	return &Limits{cfg: cfg}, nil
}

// Wrap enforces the limits in front of next.
//
// Headers over a limit get 431 and a declared Content-Length over the
// body limit 413, both as problem+json before next runs. A body of
// unknown length (chunked, or HTTP/2 without content-length) is wrapped
// so that reading past the limit fails with a *TooLargeError (errors.Is
// ErrBodyTooLarge); the proxy sees that as a client body error. The
// ResponseWriter is wrapped too, so that if the limit was hit before the
// response started, the response becomes 413 problem+json whatever next
// then writes (the proxy's 400 for an unreadable body, or nothing), and
// the connection is closed since the rest of the body was not read. A
// response already started is left alone. Requests with a declared,
// acceptable length pass through without allocation.
func (l *Limits) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.cfg.MaxHeaderCount > 0 || l.cfg.MaxHeaderBytes > 0 {
			if detail := l.checkHeader(r); detail != "" {
				problem.Write(w, r, http.StatusRequestHeaderFieldsTooLarge, detail)
				return
			}
		}
		max := l.cfg.MaxBodyBytes
		if max == 0 || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			// Close: the unread body must not be parsed as the next request,
			// and reading it just to discard it is what the limit prevents.
			w.Header().Set("Connection", "close")
			problem.Write(w, r, http.StatusRequestEntityTooLarge, tooLargeDetail(max))
			return
		}
		if r.ContentLength >= 0 {
			// The server enforces the declared length: nothing to wrap.
			next.ServeHTTP(w, r)
			return
		}
		lw := &limitedWriter{Writer: respwriter.Writer{ResponseWriter: w}, r: r}
		lw.body = body{rc: r.Body, left: max, limit: max}
		r2 := *r // shallow copy, as http.MaxBytesHandler does
		r2.Body = &lw.body
		defer lw.finish()
		next.ServeHTTP(lw, &r2)
	})
}

// checkHeader returns why r's header is over a limit, or "".
func (l *Limits) checkHeader(r *http.Request) string {
	count, size := 0, int64(0)
	if r.Host != "" {
		count, size = 1, int64(len("Host")+len(r.Host))
	}
	for k, vv := range r.Header {
		count += len(vv)
		for _, v := range vv {
			size += int64(len(k) + len(v))
		}
	}
	if n := l.cfg.MaxHeaderCount; n > 0 && count > n {
		return "the request has more than " + strconv.Itoa(n) + " header fields"
	}
	if n := l.cfg.MaxHeaderBytes; n > 0 && size > n {
		return "the request header is larger than " + strconv.FormatInt(n, 10) + " bytes"
	}
	return ""
}

func tooLargeDetail(max int64) string {
	return "the request body is larger than " + strconv.FormatInt(max, 10) + " bytes"
}
