package h1difftest

import (
	"bytes"
	"strings"
)

// Chunks describes a chunked body as net/http's chunked reader and trailer
// parser walk it: the features Gatehouse's stricter decoder
// (h1wire.ChunkedReader) refuses. The walk stops at the first thing
// net/http would refuse too; the predicates only matter for inputs net/http
// accepted.
type Chunks struct {
	SizeTrailingWS bool // "5 \r\n": OWS after the size without an extension
	LongSize       bool // more than 15 hex digits (leading zeros included)
	ExtCTL         bool // a control character (other than HTAB) in an extension
	Trailers       []Field
	TrailerBareLF  bool // a trailer line, or the trailer section's end, without CR
	TrailerFold    bool // obs-fold in the trailer section
	TrailerBytes   int  // size of the trailer section
	// Overhead is net/http's "too much non-data" heuristic tripping:
	// framing bytes exceed 16 + 2×data bytes per chunk by more than 16 KiB.
	Overhead bool
}

// WalkChunks walks body, the bytes after the head of a chunked message.
func WalkChunks(body []byte) Chunks {
	var c Chunks
	var excess int64
	for {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			return c
		}
		line := body[:i]
		body = body[i+1:]
		line = bytes.TrimSuffix(line, []byte("\r"))
		size, ext, hasExt := bytes.Cut(line, []byte(";"))
		if hasExt {
			for _, b := range ext {
				if b < ' ' && b != '\t' || b == 0x7f {
					c.ExtCTL = true
				}
			}
		}
		trimmed := bytes.TrimRight(size, " \t")
		if !hasExt && len(trimmed) != len(size) {
			c.SizeTrailingWS = true
		}
		if len(trimmed) > 15 {
			c.LongSize = true
		}
		n, ok := parseHex(trimmed)
		if !ok {
			return c
		}
		excess = max(excess+int64(i)+1-16-2*int64(n), 0)
		if excess > 16<<10 {
			c.Overhead = true
		}
		if n == 0 {
			break
		}
		if n > uint64(len(body)) || uint64(len(body))-n < 2 {
			return c
		}
		body = body[n+2:]
	}
	// Trailer section, as textproto.ReadMIMEHeader reads it.
	for {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			return c
		}
		c.TrailerBytes += i + 1
		if i == 0 || body[i-1] != '\r' {
			c.TrailerBareLF = true
		}
		line := strings.TrimSuffix(string(body[:i]), "\r")
		body = body[i+1:]
		if line == "" {
			return c
		}
		if line[0] == ' ' || line[0] == '\t' {
			c.TrailerFold = true
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		c.Trailers = append(c.Trailers, Field{Name: name, Value: strings.Trim(value, " \t")})
	}
}

func parseHex(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 16 {
		return 0, false
	}
	var n uint64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | uint64(c)
	}
	return n, true
}

// FramingName reports whether a field name settles framing or routing:
// the fields a trailer section must not carry (RFC 9110 section 6.5.1).
func FramingName(name string) bool {
	switch strings.ToLower(name) {
	case "transfer-encoding", "content-length", "trailer", "host":
		return true
	}
	return false
}

// StrictChunks reports whether the chunked body starting at body has one
// of the features h1wire.ChunkedReader refuses and net/http accepts. Chunk
// framing is where TE.TE and chunk-smuggling variants live, so the decoder
// accepts exactly the RFC 9112 section 7.1 grammar with CRLF line ends and
// bounded sizes:
//
//   - chunk-size = 1*HEXDIG, BWS only before the ";" of an extension
//     (section 7.1.1); net/http trims trailing SP/HTAB from any size line.
//   - at most 15 hex digits (< 2^60): no overflow arithmetic, and no
//     parser behind us reads a different number; net/http allows 16,
//     leading zeros included.
//   - extensions are token/quoted-string (section 7.1.1): a control
//     character there is garbage that some parsers take for a line end;
//     net/http ignores everything after ";".
//   - the trailer section (section 7.1.2) has CRLF line ends and no
//     obs-fold: where a lone LF ends a line is exactly where parsers
//     disagree about the end of the message (net/http accepts both, as
//     its header parser does).
//   - trailer field names are tokens (net/http's parser lets spaces
//     through); with rejectFraming, also none of Transfer-Encoding,
//     Content-Length, Trailer, Host (RFC 9110 section 6.5.1: a request's
//     framing and routing must not be settled after its body; the server
//     sets h1wire.ChunkedReader.RejectFramingTrailers).
func StrictChunks(body []byte, rejectFraming bool) bool {
	c := WalkChunks(body)
	if c.SizeTrailingWS || c.LongSize || c.ExtCTL || c.TrailerBareLF || c.TrailerFold {
		return true
	}
	for _, f := range c.Trailers {
		if !IsToken(f.Name) || rejectFraming && FramingName(f.Name) {
			return true
		}
	}
	return false
}
