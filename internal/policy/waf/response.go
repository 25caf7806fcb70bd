package waf

import (
	"io"
	"net/http"

	"github.com/corazawaf/coraza/v3/types"
)

// responseInspector runs the response phases when InspectResponse is set.
// A body of an inspected type is held in the transaction (up to the
// response body limit) until inspected, so a rejected response can still
// be replaced by a problem document; other bodies stream through.
type responseInspector struct {
	w      http.ResponseWriter
	r      *http.Request
	waf    *WAF
	tx     types.Transaction
	status int

	wroteHeader bool // the handler's status has been seen
	buffering   bool // body bytes go to the transaction
	passthrough bool // status sent downstream; body bytes go straight out
	answered    bool // the WAF replaced the response; discard the handler's
}

// Header returns the downstream header map.
func (i *responseInspector) Header() http.Header { return i.w.Header() }

// Unwrap lets http.ResponseController reach the underlying writer (for
// Hijack, deadlines), as with any Gatehouse middleware.
func (i *responseInspector) Unwrap() http.ResponseWriter { return i.w }

// WriteHeader runs phase 3 on the handler's status and headers.
func (i *responseInspector) WriteHeader(code int) {
	if i.wroteHeader || i.answered {
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		i.w.WriteHeader(code) // informational responses are not the answer
		return
	}
	i.wroteHeader = true
	i.status = code
	for k, vs := range i.w.Header() {
		for _, v := range vs {
			i.tx.AddResponseHeader(k, v)
		}
	}
	if it := i.tx.ProcessResponseHeaders(code, i.r.Proto); it != nil && i.reject(it) {
		return
	}
	if code == http.StatusSwitchingProtocols || i.tx.IsInterrupted() ||
		!i.tx.IsResponseBodyAccessible() || !i.tx.IsResponseBodyProcessable() {
		i.passthrough = true
		i.w.WriteHeader(code)
		return
	}
	i.buffering = true
}

// Write holds the body for inspection or passes it through.
func (i *responseInspector) Write(b []byte) (int, error) {
	if !i.wroteHeader && !i.answered {
		i.WriteHeader(http.StatusOK)
	}
	switch {
	case i.answered:
		return len(b), nil // the client already has the WAF's answer
	case i.passthrough:
		return i.w.Write(b)
	}
	it, n, err := i.tx.WriteResponseBody(b)
	if it != nil && i.reject(it) {
		return len(b), nil
	}
	if err != nil {
		return n, err
	}
	if n == len(b) && it == nil {
		return n, nil
	}
	// The limit was reached and the prefix inspected (ProcessPartial), or
	// detect mode saw an interruption: release what is held, stream the rest.
	if err := i.release(); err != nil {
		return n, err
	}
	m, err := i.w.Write(b[n:])
	return n + m, err
}

// Flush flushes only once the body is no longer held for inspection.
func (i *responseInspector) Flush() {
	if !i.wroteHeader && !i.answered {
		i.WriteHeader(http.StatusOK)
	}
	if i.passthrough {
		http.NewResponseController(i.w).Flush()
	}
}

// finish runs phase 4 after the handler returned and sends what is held.
func (i *responseInspector) finish() {
	if !i.wroteHeader && !i.answered {
		i.WriteHeader(http.StatusOK)
	}
	if !i.buffering || i.answered {
		return
	}
	if it, _ := i.tx.ProcessResponseBody(); it != nil && i.reject(it) {
		return
	}
	i.release()
}

// release sends the status and the held body downstream and switches to
// passthrough.
func (i *responseInspector) release() error {
	i.buffering = false
	i.passthrough = true
	i.w.WriteHeader(i.status)
	held, err := i.tx.ResponseBodyReader()
	if err != nil {
		return err
	}
	_, err = io.Copy(i.w, held)
	return err
}

// reject hands an interruption to the WAF; in block mode the handler's
// headers are dropped and the WAF's answer replaces the response.
func (i *responseInspector) reject(it *types.Interruption) bool {
	if i.waf.detect {
		i.waf.interrupted(i.w, i.r, i.tx, it)
		return false
	}
	h := i.w.Header()
	for k := range h {
		delete(h, k)
	}
	i.answered = true
	i.buffering = false
	return i.waf.interrupted(i.w, i.r, i.tx, it)
}
