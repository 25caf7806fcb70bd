package limits

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/respwriter"
)

// limitedWriter turns the response into 413 when the body limit was hit
// before the response started.
// Hijack and Unwrap come from the embedded respwriter.Writer, whose own
// status recording stays unused: this writer's methods write through.
type limitedWriter struct {
	respwriter.Writer
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

// finish runs after next: a handler that gave up on the body without
// answering still yields a 413, not an empty 200.
func (w *limitedWriter) finish() { w.takeOver() }
