package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// failure is why an attempt failed, which decides the answer and whose
// fault it is.
type failure uint8

const (
	// upstreamFailed: connect refused or timed out, reset, TLS failure,
	// malformed response. 502, or 504 when it was a timeout.
	upstreamFailed failure = iota
	upstreamTimeout
	// clientBody: reading the client's request body failed (malformed
	// chunking, truncated body). 400; not the upstream's fault.
	clientBody
	// clientGone: the client went away; there is no one to answer.
	clientGone
	// succeeded: the attempt did not fail.
	succeeded
)

func (f failure) status() int {
	switch f {
	case upstreamTimeout:
		return http.StatusGatewayTimeout
	case clientBody:
		return http.StatusBadRequest
	}
	return http.StatusBadGateway
}

func (f failure) detail() string {
	switch f {
	case upstreamTimeout:
		return "the upstream server did not answer in time"
	case clientBody:
		return "the request body could not be read"
	}
	return "the upstream server could not be reached or gave an invalid response"
}

// upstreamFault reports whether the failure counts against the target.
func (f failure) upstreamFault() bool { return f == upstreamFailed || f == upstreamTimeout }

// classify decides whose fault err (from RoundTrip or a body read) is.
// The client's side is checked first: a transport error caused by the
// client's body or by the client leaving must not be blamed on the target.
func classify(err error, r *http.Request, body *requestBody) failure {
	if r.Context().Err() != nil {
		return clientGone
	}
	if body != nil && body.readErr() != nil {
		return clientBody
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return upstreamTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return upstreamTimeout
	}
	return upstreamFailed
}

// redispatchable reports an attempt that failed before the upstream could
// have acted on the request: the connection was never made, or it was
// reset or closed before any response byte. Only these are retried on
// another target (HAProxy's "option redispatch"); net/http already replays
// idempotent requests once on a fresh connection to the same target.
func redispatchable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)
}

// idempotent reports whether r may be sent twice (RFC 9110 §9.2.2, plus
// the Idempotency-Key convention that net/http also honours).
func idempotent(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return len(r.Header["Idempotency-Key"]) > 0
}

// report records one failed attempt: the log line, the metric hook and the
// request's Info. It is called exactly once per failed attempt.
func (h *handler) report(r *http.Request, info *reqinfo.Info, t *balancer.Target, f failure, err error) {
	msg := err.Error()
	if info != nil {
		info.UpstreamError = msg
	}
	level := slog.LevelWarn
	if f.upstreamFault() {
		if h.onUpstreamError != nil {
			h.onUpstreamError(t.Addr)
		}
	} else {
		// The client's doing: worth a trace, not an operator's attention.
		level = slog.LevelDebug
	}
	var id string
	if info != nil {
		id = info.RequestID
	}
	h.log.LogAttrs(r.Context(), level, "proxy: upstream attempt failed",
		slog.String("route", h.route),
		slog.String("target", t.Addr),
		slog.String("error", msg),
		slog.String("request_id", id),
		slog.Bool("client_side", !f.upstreamFault()),
	)
}

// answer writes the problem response for f, which is only possible while
// the response has not started.
func answer(w http.ResponseWriter, r *http.Request, f failure) {
	if f == clientGone {
		return
	}
	problem.Write(w, r, f.status(), f.detail())
}
