package proxy

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// bufferPool holds the body copy buffers. Pointers are pooled so Put does
// not allocate a slice header.
var bufferPool = sync.Pool{New: func() any {
	b := make([]byte, bufferSize)
	return &b
}}

// copyBody streams src to dst, flushing after every write when fl is not
// nil. It reports which side failed: rerr reading the upstream (the
// upstream's fault) or werr writing the client (the client's).
func copyBody(dst io.Writer, src io.Reader, fl http.Flusher) (rerr, werr error) {
	bp := bufferPool.Get().(*[]byte)
	buf := *bp
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr = dst.Write(buf[:n]); werr != nil {
				break
			}
			if fl != nil {
				fl.Flush()
			}
		}
		if err != nil {
			if err != io.EOF {
				rerr = err
			}
			break
		}
	}
	bufferPool.Put(bp)
	return rerr, werr
}

// flusherOf returns a Flusher for w, looking through wrappers that
// implement Unwrap (as http.ResponseController does) when w itself is not
// one. It returns nil when w cannot flush.
func flusherOf(w http.ResponseWriter) http.Flusher {
	if f, ok := w.(http.Flusher); ok {
		return f
	}
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return nil
		}
		w = u.Unwrap()
		if f, ok := w.(http.Flusher); ok {
			return f
		}
	}
}

// errBodyAfterHandler is returned to a transport that reads the client's
// body after the handler returned, which net/http does not allow.
var errBodyAfterHandler = errors.New("proxy: read of request body after the handler returned")

// requestBody wraps the client's body on its way to the upstream. It
// records the first read error, so a broken client body (bad chunking, a
// client that went away) is answered 400 and not blamed on the upstream;
// it does not pass Close on, because the transport closes the body when a
// connection fails and the server owns the client's body; and it refuses
// reads once the handler has returned (the transport's writer can outlive
// RoundTrip), as httputil.ReverseProxy does.
type requestBody struct {
	body io.ReadCloser
	done atomic.Bool
	mu   sync.Mutex // guards err: the transport reads on its own goroutine
	err  error
}

func (b *requestBody) Read(p []byte) (int, error) {
	if b.done.Load() {
		return 0, errBodyAfterHandler
	}
	n, err := b.body.Read(p)
	if err != nil && err != io.EOF {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// Close does not close the client's body; see requestBody.
func (b *requestBody) Close() error { return nil }

// readErr returns the first error reading the client's body, if any.
func (b *requestBody) readErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}
