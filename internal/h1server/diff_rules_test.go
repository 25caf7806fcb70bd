package h1server

import (
	"bytes"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire/h1difftest"
)

// The deliberate differences between Gatehouse's request parser and
// net/http's server, as FuzzDiffRequest allows them. Gatehouse is a proxy:
// a request it forwards is parsed again by an origin it does not know, so
// any request two parsers could frame differently is refused with 400
// before a byte reaches the upstream (RFC 9112 section 11.2, request
// smuggling). These rules only excuse accept/refuse disagreements; when
// both parsers accept, every field, the body framing, the body and the
// bytes left for the next request must agree.

// requestStricter lists what Gatehouse refuses and net/http accepts.
var requestStricter = []h1difftest.Rule{
	// RFC 9112 section 5.2: a server receiving obs-fold in a request MUST
	// either reject it with 400 or replace each fold with SP. Replacing
	// forwards a message whose fields differ from what an origin that
	// unfolds differently would see; refusing is the RFC's first option
	// and what no legitimate client needs.
	{Name: "obs-fold", Applies: func(m *h1difftest.Message) bool { return m.ObsFold }},

	// RFC 9112 section 6.1: a request with both Transfer-Encoding and
	// Content-Length "ought to be handled as an error"; a server MAY reject
	// it. net/http ignores Content-Length. A proxy that forwards it lets an
	// origin that prefers Content-Length split the body into a second
	// request: the CL.TE / TE.CL smuggling attacks.
	{Name: "content-length-with-transfer-encoding", Applies: func(m *h1difftest.Message) bool {
		return m.Has("Content-Length") && m.Has("Transfer-Encoding")
	}},

	// RFC 9112 section 6.1: a server that receives Transfer-Encoding in an
	// HTTP/1.0 message MUST treat the framing as faulty. net/http ignores
	// the field (and frames by Content-Length); an HTTP/1.1 origin behind
	// us would honour it.
	{Name: "transfer-encoding-in-http/1.0", Applies: func(m *h1difftest.Message) bool {
		return m.Version(true) == "HTTP/1.0" && m.Has("Transfer-Encoding")
	}},

	// RFC 9112 section 3.2.4: the asterisk-form is only used with OPTIONS.
	// net/http accepts "*" with any method; we would have to forward it.
	{Name: "asterisk-form-without-options", Applies: func(m *h1difftest.Message) bool {
		method, rest, _ := strings.Cut(m.StartLine, " ")
		return method != "OPTIONS" && strings.HasPrefix(rest, "* ")
	}},

	// RFC 9112 section 3.2.3: a CONNECT target is uri-host ":" port.
	// net/http parses an empty one as "http://" and accepts it; an empty
	// request-target is a malformed request line (section 3).
	{Name: "connect-empty-target", Applies: func(m *h1difftest.Message) bool {
		return strings.HasPrefix(m.StartLine, "CONNECT  ")
	}},

	// RFC 9110 section 2.5 lets a server treat HTTP/1.2..1.9 as 1.1
	// (SHOULD). Gatehouse answers 505 instead: no client sends these, and
	// it keeps one version check exact. Not a security property; listed so
	// nobody mistakes it for one.
	{Name: "http/1.x-above-1.1", Applies: func(m *h1difftest.Message) bool {
		v := m.Version(true)
		return len(v) == 8 && strings.HasPrefix(v, "HTTP/1.") && v[7] >= '2' && v[7] <= '9'
	}},

	// Content-Length values are bounded to 18 digits so they cannot
	// overflow int64 without a big-number parse; net/http allows 19 (and
	// leading zeros). No body of 10^18 bytes exists.
	{Name: "content-length-over-18-digits", Applies: func(m *h1difftest.Message) bool {
		for _, v := range m.Values("Content-Length") {
			if len(v) > 18 {
				return true
			}
		}
		return false
	}},

	// RFC 9110 section 10.1.1: a server MAY answer 417 to an Expect member
	// other than 100-continue. net/http only looks at the first Expect
	// line; Gatehouse refuses an unknown member on any line, so that it
	// never forwards an expectation it did not check. No effect on
	// framing.
	{Name: "expect-unknown-member", Applies: func(m *h1difftest.Message) bool {
		for _, v := range m.Values("Expect") {
			for _, e := range strings.Split(v, ",") {
				if e = strings.Trim(e, " \t"); e != "" && !strings.EqualFold(e, "100-continue") {
					return true
				}
			}
		}
		return false
	}},

	// RFC 9112 section 7.1: the chunked decoder shared with the client is
	// stricter than net/http's; see h1difftest.StrictChunks for each
	// difference. The server also refuses framing fields in trailers.
	{Name: "chunked-coding-strict", Applies: func(m *h1difftest.Message) bool {
		return m.Has("Transfer-Encoding") && h1difftest.StrictChunks(m.Body, true)
	}},

	// RFC 9110 section 6.6.2: Trailer lists field names (tokens); naming a
	// framing or routing field (Host among them) announces a trailer the
	// server refuses anyway. net/http only refuses Transfer-Encoding,
	// Trailer and Content-Length there.
	{Name: "trailer-declares-host-or-non-token", Applies: func(m *h1difftest.Message) bool {
		for _, v := range m.Values("Trailer") {
			for _, k := range strings.Split(v, ",") {
				k = strings.Trim(k, " \t")
				if k != "" && (!h1difftest.IsToken(k) || strings.EqualFold(k, "Host")) {
					return true
				}
			}
		}
		return false
	}},
}

// requestLaxer lists what Gatehouse accepts and net/http refuses. Nothing
// here changes framing.
var requestLaxer = []h1difftest.Rule{
	// RFC 9110 section 5.6.1.2: a recipient MUST accept and ignore empty
	// list elements, so "Expect: ," is an empty expectation list.
	// net/http answers 417 to any Expect value without 100-continue.
	// Expect is consumed by the server, never forwarded.
	{Name: "expect-empty-list-elements", Applies: func(m *h1difftest.Message) bool {
		vv := m.Values("Expect")
		for _, v := range vv {
			if strings.Trim(v, " \t,") != "" {
				return false
			}
		}
		return strings.Trim(strings.Join(vv, ""), " \t") != ""
	}},
	// net/http refuses a chunked body whose framing overhead exceeds 16
	// KiB beyond what the data justifies (a CPU heuristic, not grammar).
	// Gatehouse bounds framing lines by its read buffer and the body by
	// the route's size limit instead; both parsers frame such a body
	// identically, the proxy just does not give up on it.
	{Name: "chunk-overhead-heuristic", Applies: func(m *h1difftest.Message) bool {
		return m.Has("Transfer-Encoding") && h1difftest.WalkChunks(m.Body).Overhead
	}},
	// net/http only reads a trailer section that fits its 4 KiB read
	// buffer ("suspiciously long trailer"); Gatehouse bounds it by the
	// header limit (MaxHeaderBytes), as it does the head.
	{Name: "trailer-section-over-read-buffer", Applies: func(m *h1difftest.Message) bool {
		return m.Has("Transfer-Encoding") && h1difftest.WalkChunks(m.Body).TrailerBytes > readBufSize-8
	}},
}

// scanRequest splits in as the rules see it: after the leading empty lines
// both parsers skip (see netHTTPRequest).
func scanRequest(in []byte) *h1difftest.Message {
	for {
		switch {
		case bytes.HasPrefix(in, []byte("\r\n")):
			in = in[2:]
		case bytes.HasPrefix(in, []byte("\n")):
			in = in[1:]
		default:
			return h1difftest.Scan(in)
		}
	}
}
