package proxy

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/h1client"
)

// SchemeTransport sends http:// requests through the own HTTP/1.1
// client (h1client), which costs far less CPU per request than
// net/http's Transport, and the rest (TLS, HTTP/2, h2c) through net/http.
// An upstream may mix schemes, so the choice is per request.
type SchemeTransport struct {
	h1  *h1client.Transport
	std http.RoundTripper
}

// NewSchemeTransport dispatches between h1 and std.
func NewSchemeTransport(h1 *h1client.Transport, std http.RoundTripper) *SchemeTransport {
	return &SchemeTransport{h1: h1, std: std}
}

func (t *SchemeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme == "http" {
		return t.h1.RoundTrip(r)
	}
	return t.std.RoundTrip(r)
}

// CloseIdleConnections closes both transports' idle connections.
func (t *SchemeTransport) CloseIdleConnections() {
	t.h1.CloseIdleConnections()
	if c, ok := t.std.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// CloseIdleFor closes one drained target's idle connections.
func (t *SchemeTransport) CloseIdleFor(hostport string) { t.h1.CloseIdleFor(hostport) }
