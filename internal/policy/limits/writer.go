package limits

import (
	"bufio"
	"net"
	"net/http"

	"github.com/gatehouse/gatehouse/internal/problem"
)

// limitedWriter turns the response into 413 when the body limit was hit
// before the response started.
type limitedWriter struct {
	http.ResponseWriter
	r    *http.Request
	body body
	// started: the response header went out (ours or next's).
	started bool
	// replaced: a 413 was written instead; next's writes are dropped.
	replaced bool
}

// takeOver writes the 413 if the limit was hit and nothing was sent yet,
// and reports whether the response is (now) ours.
func (w *limitedWriter) takeOver() bool {
	if w.replaced {
		return true
	}
	if w.started || !w.body.exceeded.Load() {
		return false
	}
	w.replaced, w.started = true, true
	h := w.ResponseWriter.Header()
	h.Set("Connection", "close") // the rest of the body was not read
	problem.Write(w.ResponseWriter, w.r, http.StatusRequestEntityTooLarge, tooLargeDetail(w.body.limit))
	return true
}

func (w *limitedWriter) WriteHeader(code int) {
	if w.takeOver() {
		return
	}
	if code >= 200 || code == http.StatusSwitchingProtocols {
		w.started = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *limitedWriter) Write(p []byte) (int, error) {
	if w.takeOver() {
		return len(p), nil // discarded: the client gets the 413
	}
	w.started = true
	return w.ResponseWriter.Write(p)
}

// Flush sends what was written, unless the response was replaced.
func (w *limitedWriter) Flush() {
	if w.takeOver() {
		return
	}
	w.started = true
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands over the connection (protocol upgrades).
func (w *limitedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *limitedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish runs after next: a handler that gave up on the body without
// answering still yields a 413, not an empty 200.
func (w *limitedWriter) finish() { w.takeOver() }
