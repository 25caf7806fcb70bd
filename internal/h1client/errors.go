package h1client

import (
	"errors"
	"net"
)

// ErrConnectFailed is matched (errors.Is) by every error returned when the
// TCP connection to the upstream could not be established. Nothing was sent,
// so the request is safe to retry on another target.
var ErrConnectFailed = errors.New("h1client: connect failed")

// ErrMalformedResponse is matched by errors caused by a response that breaks
// HTTP/1.1 framing or syntax (bad status line, header, Content-Length or
// chunk). The connection is closed; a proxy should answer 502.
var ErrMalformedResponse = errors.New("h1client: malformed response")

// ErrResponseHeaderTooLarge is matched when the response head exceeds
// Config.MaxResponseHeaderBytes.
var ErrResponseHeaderTooLarge = errors.New("h1client: response header too large")

// ErrResponseHeaderTimeout is matched when no complete response head arrived
// within Config.ResponseHeaderTimeout. The error also reports Timeout() ==
// true, like other net.Error timeouts.
var ErrResponseHeaderTimeout = errors.New("h1client: timeout awaiting response headers")

// IsConnectError reports whether err means the dial to the upstream failed:
// no byte of the request reached it, so the caller may retry elsewhere.
func IsConnectError(err error) bool { return errors.Is(err, ErrConnectFailed) }

// connectError wraps a dial failure so that it both classifies as
// ErrConnectFailed and keeps the *net.OpError reachable via errors.As.
type connectError struct {
	addr string
	err  error
}

func (e *connectError) Error() string        { return "h1client: connect to " + e.addr + ": " + e.err.Error() }
func (e *connectError) Unwrap() error        { return e.err }
func (e *connectError) Is(target error) bool { return target == ErrConnectFailed }

// Timeout lets callers treat a dial timeout like any other net.Error timeout.
func (e *connectError) Timeout() bool {
	var ne net.Error
	return errors.As(e.err, &ne) && ne.Timeout()
}

// opError is a failure during one phase of a round trip on an established
// connection. retryable marks the stale keep-alive signature (a reused
// connection failed before any response byte arrived); RoundTrip consumes it
// and never exposes it.
type opError struct {
	op        string // "write request", "read response", "read body"
	addr      string
	err       error
	retryable bool
}

func (e *opError) Error() string { return "h1client: " + e.op + " " + e.addr + ": " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }

// protocolError is a syntax or framing violation by the server. They are
// package values so that rejecting hostile input allocates nothing.
type protocolError struct{ msg string }

func (e *protocolError) Error() string        { return "h1client: malformed response: " + e.msg }
func (e *protocolError) Is(target error) bool { return target == ErrMalformedResponse }

var (
	errStatusLine      = &protocolError{"invalid status line"}
	errHeaderLine      = &protocolError{"invalid header line"}
	errHeaderValue     = &protocolError{"invalid character in header value"}
	errLeadingFold     = &protocolError{"continuation line before first header"}
	errContentLength   = &protocolError{"invalid Content-Length"}
	errMultipleCL      = &protocolError{"conflicting Content-Length values"}
	errCLAndChunked    = &protocolError{"both Content-Length and Transfer-Encoding"}
	errTransferEnc     = &protocolError{"unsupported Transfer-Encoding"}
	errTEOnHTTP10      = &protocolError{"Transfer-Encoding in an HTTP/1.0 response"}
	errTooManyInterim  = &protocolError{"too many 1xx responses"}
	errBadTrailerKey   = &protocolError{"Trailer declares a framing field"}
	errChunkSize       = &protocolError{"invalid chunk size line"}
	errChunkDataEnd    = &protocolError{"missing CRLF after chunk data"}
	errTrailerLine     = &protocolError{"invalid trailer line"}
	errTrailerTooLarge = &protocolError{"trailer section too large"}
)

// headerTooLargeError carries ErrResponseHeaderTooLarge and also classifies as
// malformed, so a proxy that only checks ErrMalformedResponse still says 502.
type headerTooLargeError struct{}

func (headerTooLargeError) Error() string { return ErrResponseHeaderTooLarge.Error() }
func (headerTooLargeError) Is(target error) bool {
	return target == ErrResponseHeaderTooLarge || target == ErrMalformedResponse
}

var errHeaderTooLarge error = headerTooLargeError{}

// timeoutError reports ResponseHeaderTimeout expiry while keeping the
// underlying deadline error reachable.
type timeoutError struct{ err error }

func (e *timeoutError) Error() string        { return ErrResponseHeaderTimeout.Error() }
func (e *timeoutError) Unwrap() error        { return e.err }
func (e *timeoutError) Is(target error) bool { return target == ErrResponseHeaderTimeout }
func (e *timeoutError) Timeout() bool        { return true }
func (e *timeoutError) Temporary() bool      { return true }

// Request validation errors: the caller's bug, detected before any byte is
// written.
var (
	errNilURL         = errors.New("h1client: request has no URL")
	errScheme         = errors.New("h1client: unsupported scheme (only http)")
	errNoHost         = errors.New("h1client: request URL has no host")
	errBadMethod      = errors.New("h1client: invalid method")
	errBadHost        = errors.New("h1client: invalid Host")
	errBadURI         = errors.New("h1client: control character or space in request URL")
	errBadHeaderName  = errors.New("h1client: invalid request header name")
	errBadHeaderValue = errors.New("h1client: invalid request header value")
	errNilBody        = errors.New("h1client: Request.ContentLength > 0 with nil Body")
	errBodyShort      = errors.New("h1client: request body shorter than ContentLength")
	errBodyClosed     = errors.New("h1client: response body closed")
)
