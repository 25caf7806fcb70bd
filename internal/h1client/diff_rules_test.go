package h1client

import (
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire/h1difftest"
)

// The deliberate differences between Gatehouse's response parser and
// net/http's ReadResponse, as FuzzDiffResponse allows them. The client
// reads what an origin sends for a proxy that will frame it again for its
// own client: a response two parsers could frame differently (response
// splitting, a desynchronised keep-alive connection) is refused as
// malformed (the proxy answers 502) rather than guessed at. These rules
// only excuse accept/refuse disagreements; when both accept, every field,
// the framing, the body and the bytes left over must agree.

// responseStricter lists what Gatehouse refuses and net/http accepts.
var responseStricter = []h1difftest.Rule{
	// RFC 9112 section 6.3 item 3: Transfer-Encoding with Content-Length
	// "ought to be handled as an error"; an intermediary that forwards it
	// MUST drop Content-Length. net/http drops it; we refuse, because the
	// origin (or something between) disagrees with itself on the length.
	{Name: "content-length-with-transfer-encoding", Applies: func(m *h1difftest.Message) bool {
		return m.Has("Content-Length") && m.Has("Transfer-Encoding")
	}},

	// RFC 9112 section 6.1: Transfer-Encoding in an HTTP/1.0 message
	// means faulty framing. net/http ignores the field and reads until
	// close (or Content-Length).
	{Name: "transfer-encoding-in-http/1.0", Applies: func(m *h1difftest.Message) bool {
		return m.Version(false) == "HTTP/1.0" && m.Has("Transfer-Encoding")
	}},

	// RFC 9112 section 2.3: only HTTP/1.0 and HTTP/1.1 are spoken on an
	// HTTP/1 upstream connection; net/http's ReadResponse accepts any
	// "HTTP/d.d" (2.0 and 0.9 included) and frames it as 1.x.
	{Name: "http-version-not-1.0-or-1.1", Applies: func(m *h1difftest.Message) bool {
		v := m.Version(false)
		return v != "HTTP/1.0" && v != "HTTP/1.1"
	}},

	// RFC 9112 section 4: status-code = 3DIGIT, and RFC 9110 section 15
	// defines 100..599 (we pass on up to 999). net/http's Atoi takes
	// "+12" and 000..099; a proxy cannot forward those (net/http's
	// ResponseWriter panics below 100).
	{Name: "status-code-not-3-digits-from-100", Applies: func(m *h1difftest.Message) bool {
		_, rest, _ := strings.Cut(m.StartLine, " ")
		code, _, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
		return len(code) != 3 || code[0] < '1' || code[0] > '9' || code[1] < '0' || code[1] > '9' || code[2] < '0' || code[2] > '9'
	}},

	// RFC 9112 section 4: status-line = HTTP-version SP status-code SP
	// [reason-phrase]: exactly one SP. net/http skips any number.
	{Name: "status-line-extra-spaces", Applies: func(m *h1difftest.Message) bool {
		_, rest, _ := strings.Cut(m.StartLine, " ")
		return strings.HasPrefix(rest, " ")
	}},

	// RFC 9112 section 5.1: no whitespace between field name and colon; a
	// proxy MUST remove it from a response before forwarding, but which
	// field did the origin mean? net/http's ReadResponse accepts names
	// with spaces (its server refuses them in requests); we refuse.
	{Name: "field-name-not-token", Applies: func(m *h1difftest.Message) bool {
		return m.AnyField(func(f h1difftest.Field) bool { return !h1difftest.IsToken(f.Name) })
	}},

	// Content-Length is bounded to 18 digits (no overflow arithmetic); no
	// body of 10^18 bytes exists. net/http allows 19, leading zeros too.
	{Name: "content-length-over-18-digits", Applies: func(m *h1difftest.Message) bool {
		for _, v := range m.Values("Content-Length") {
			for _, e := range strings.Split(v, ",") {
				if len(strings.Trim(e, " \t")) > 18 {
					return true
				}
			}
		}
		return false
	}},

	// RFC 9112 section 7.1: the shared chunked decoder; see
	// h1difftest.StrictChunks. Framing fields in response trailers are
	// passed through (the client does not set RejectFramingTrailers).
	{Name: "chunked-coding-strict", Applies: func(m *h1difftest.Message) bool {
		return m.Has("Transfer-Encoding") && h1difftest.StrictChunks(m.Body, false)
	}},
}

// responseLaxer lists what Gatehouse accepts and net/http refuses.
var responseLaxer = []h1difftest.Rule{
	// RFC 9112 section 5.2: each obs-fold is replaced by SP; a
	// continuation line holding only whitespace therefore adds only
	// trailing whitespace, which is not part of a field value (RFC 9110
	// section 5.5). Gatehouse drops it; net/http keeps one SP at the end
	// of the value and then refuses "chunked " as an unknown coding.
	{Name: "blank-obs-fold-line", Applies: func(m *h1difftest.Message) bool { return m.BlankFold }},
	// RFC 9110 section 15.2: a 1xx response ends at its head; it has no
	// content, so its Content-Length / Transfer-Encoding frame nothing.
	// Gatehouse checks an interim head's field syntax only; net/http
	// runs its body-framing checks on it too. Both resume at the same
	// byte.
	{Name: "interim-response-framing-fields", Applies: func(m *h1difftest.Message) bool {
		return interimStatus(m.StartLine) && (m.Has("Content-Length") || m.Has("Transfer-Encoding"))
	}},
	// net/http refuses chunked framing overhead 16 KiB beyond what the
	// data justifies (a CPU heuristic, not grammar); both frame the body
	// the same way. See h1difftest.Chunks.Overhead.
	{Name: "chunk-overhead-heuristic", Applies: func(m *h1difftest.Message) bool {
		return m.Has("Transfer-Encoding") && h1difftest.WalkChunks(m.Body).Overhead
	}},
	// net/http reads only a trailer section that fits its 4 KiB buffer;
	// Gatehouse bounds it by MaxResponseHeaderBytes, like the head.
	{Name: "trailer-section-over-read-buffer", Applies: func(m *h1difftest.Message) bool {
		return m.Has("Transfer-Encoding") && h1difftest.WalkChunks(m.Body).TrailerBytes > readBufferSize-8
	}},

	// RFC 9112 section 6.3 item 4: a response whose Transfer-Encoding
	// does not end in chunked is delimited by the connection's close.
	// Gatehouse reads such a response (one field line of token codings,
	// none of them chunked, no Content-Length: an origin's unknown
	// coding) until the origin closes and never reuses the connection,
	// so nothing can be smuggled behind it; net/http refuses any coding
	// it does not know. Bodiless responses (HEAD, 204, 304) end at the
	// head either way.
	{Name: "unknown-transfer-coding-read-until-close", Applies: func(m *h1difftest.Message) bool {
		vv := m.Values("Transfer-Encoding")
		return len(vv) == 1 && !m.Has("Content-Length") && unchunkedCodings(vv)
	}},

	// RFC 9110 section 8.6: a recipient MAY accept a Content-Length that
	// is a list of one repeated value ("5, 5", which some origins and
	// intermediaries produce by merging lines) as that value. The length
	// is unambiguous; different values are refused. net/http refuses any
	// list.
	{Name: "content-length-list-of-equal-values", Applies: func(m *h1difftest.Message) bool {
		return m.AnyField(func(f h1difftest.Field) bool {
			return strings.EqualFold(f.Name, "Content-Length") && strings.Contains(f.Value, ",")
		})
	}},
}

// interimStatus reports whether a status line is a 1xx other than 101.
func interimStatus(line string) bool {
	_, rest, _ := strings.Cut(line, " ")
	return len(rest) >= 3 && rest[0] == '1' && rest[:3] != "101"
}
