// Package respwriter is the one http.ResponseWriter wrapper the request
// path builds on: it records the final status and the body bytes (for
// metrics, the access log and policies that decide on the status) and
// runs an optional hook just before the final header goes out (response
// header filters, CORS). Flush, Hijack and Unwrap pass through, so
// streaming, protocol upgrades and http.ResponseController work through
// any number of wrappers.
//
// Informational responses (1xx other than 101) pass through untouched and
// are not recorded: the hook and the status belong to the final response.
package respwriter

import (
	"bufio"
	"net"
	"net/http"
)

// Hook is told once, just before the final response header is written,
// with the header map about to go out and the status. It may edit the
// header.
type Hook interface {
	BeforeFinal(h http.Header, status int)
}

// Writer wraps a ResponseWriter. The zero Hook is none. Status is 0 until
// the final header is written (a body write or a flush without one writes
// 200, as net/http does).
type Writer struct {
	http.ResponseWriter
	Hook   Hook
	Status int
	Bytes  int64
}

// final reports whether code starts the final response: 1xx responses
// other than 101 (the upgrade) are interim.
func final(code int) bool { return code >= 200 || code == http.StatusSwitchingProtocols }

func (w *Writer) WriteHeader(code int) {
	if w.Status == 0 && final(code) {
		w.Status = code
		if w.Hook != nil {
			w.Hook.BeforeFinal(w.ResponseWriter.Header(), code)
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

// start writes the implicit 200 before a body write or a flush.
func (w *Writer) start() {
	if w.Status == 0 {
		w.WriteHeader(http.StatusOK)
	}
}

func (w *Writer) Write(p []byte) (int, error) {
	w.start()
	n, err := w.ResponseWriter.Write(p)
	w.Bytes += int64(n)
	return n, err
}

// Finish runs the hook for a handler that returned without writing, so
// the response the server then sends implicitly (200, no body) carries
// the hook's edits too. Call it after the handler returns.
func (w *Writer) Finish() {
	if w.Status == 0 {
		w.Status = http.StatusOK
		if w.Hook != nil {
			w.Hook.BeforeFinal(w.ResponseWriter.Header(), http.StatusOK)
		}
	}
}

// Flush sends the header (with the hook applied) and any buffered body.
func (w *Writer) Flush() {
	w.start()
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack hands over the connection (protocol upgrades).
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *Writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }
