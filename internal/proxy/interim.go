package proxy

import (
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"sync"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// interim relays the upstream's 1xx interim responses (103 Early Hints,
// RFC 8297; 102 and any other 1xx) to the client while the final response
// is awaited, as RFC 9110 §15.2 asks of a proxy. Both upstream transports
// report them through httptrace.ClientTrace.Got1xxResponse, and both bound
// their number (5; one more is a malformed response, 502), so the proxy
// needs no bound of its own.
//
// Not relayed: 100 Continue, which the listener sends on its own when the
// proxy starts reading a body the client announced with Expect (relaying
// the upstream's too would send the client two), 101 (the upgrade path),
// and anything to an HTTP/1.0 client, which must not get a 1xx (RFC 9110
// §15.2). A cache in front of the proxy drops them (policy/cache): an
// interim response is never stored.
//
// The transports call the hook on their own goroutines, while the
// handler's goroutine is blocked in RoundTrip; the mutex and done flag
// (the scheme of httputil.ReverseProxy) keep a late hook from touching the
// ResponseWriter once RoundTrip has returned.
type interim struct {
	w     http.ResponseWriter
	trace httptrace.ClientTrace
	mu    sync.Mutex
	done  bool
}

// init prepares the relaying hook for the client of r, and reports false
// when that client cannot receive interim responses.
func (ir *interim) init(w http.ResponseWriter, r *http.Request) bool {
	if !r.ProtoAtLeast(1, 1) {
		return false
	}
	ir.w = w
	ir.trace.Got1xxResponse = ir.got
	return true
}

// attempt marks the start of an attempt (hooks may write again) and end
// its end (they may not), around each RoundTrip.
func (ir *interim) attempt(on bool) {
	if ir == nil || ir.w == nil {
		return
	}
	ir.mu.Lock()
	ir.done = !on
	ir.mu.Unlock()
}

func (ir *interim) got(code int, h textproto.MIMEHeader) error {
	if code == http.StatusContinue || code == http.StatusSwitchingProtocols || code < 100 || code > 199 {
		return nil
	}
	ir.mu.Lock()
	defer ir.mu.Unlock()
	if ir.done {
		return nil
	}
	// The interim response carries the upstream's fields only, not what
	// the gateway has put in the header for the final response, which is
	// restored afterwards.
	dst := ir.w.Header()
	saved := maps.Clone(dst)
	clear(dst)
	for k, vv := range h {
		dst[k] = vv
	}
	h1wire.RemoveHopByHop(dst)
	delete(dst, "Content-Length")
	ir.w.WriteHeader(code)
	clear(dst)
	maps.Copy(dst, saved)
	return nil
}
