package h1client

import (
	"net/http"
	"net/http/httptrace"
	"net/textproto"
)

// gotInterim hands a 1xx response (e.g. 103 Early Hints, RFC 8297) to the
// request's httptrace.ClientTrace.Got1xxResponse, the hook net/http's
// Transport calls, so a proxy relays interim responses the same way
// whichever transport is used. Its field lines are checked either way
// (a malformed one fails the exchange); without the hook it is skipped. Its fields
// are copied out of the head buffer, which the next head reuses.
func (c *conn) gotInterim(req *http.Request, code int, head []byte) error {
	spans, err := parseFields(head, c.bufs.spans[:0])
	c.bufs.spans = spans
	if err != nil {
		return err
	}
	trace := httptrace.ContextClientTrace(req.Context())
	if trace == nil || trace.Got1xxResponse == nil {
		return nil
	}
	s := string(head)
	h := make(textproto.MIMEHeader, len(spans))
	for _, sp := range spans {
		k := s[sp.ks:sp.ke]
		h[k] = append(h[k], s[sp.vs:sp.ve])
	}
	return trace.Got1xxResponse(code, h)
}
