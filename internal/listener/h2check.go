package listener

import (
	"encoding/binary"
	"io"
	"net"
	"sync"

	"golang.org/x/net/http2/hpack"
)

// h2Check sits between a client's HTTP/2 connection and net/http's HTTP/2
// server and corrects, on the client-to-server side only, the two places
// where that server departs from RFC 9113 and offers no setting:
//
//   - A request carrying a connection-specific field (Connection,
//     Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade) or TE with a
//     value other than "trailers" is malformed (RFC 9113 §8.2.2) and must
//     be a stream error of type PROTOCOL_ERROR (§8.1.1); the server answers
//     it with a 400 response instead. The check decodes every header block
//     with its own HPACK decoder (same table size as the server's) and, for
//     such a request, ends the block with one more CONTINUATION frame
//     holding a field with an upper-case name, which the server must and
//     does reject with RST_STREAM(PROTOCOL_ERROR) without running a handler.
//     The added field is a literal without indexing, so the server's HPACK
//     table stays what the client's encoder thinks it is.
//   - Values in a SETTINGS frame must be processed in order, so a repeated
//     identifier is legal and the last value wins (§6.5.3); the server
//     closes the connection instead. The check rewrites every occurrence
//     but the one that decides the outcome (the first invalid value, else
//     the last) to an unused identifier, which receivers ignore (§6.5.2).
//     Known gap: an earlier INITIAL_WINDOW_SIZE that would overflow a
//     window only in the middle of the frame is not reported.
//
// The check never writes to the client and never delays the server's own
// frames: the server stays the only writer, so its GOAWAY, RST_STREAM and
// flow control stay consistent. DATA and other frames pass through without
// copying; HEADERS, CONTINUATION and small SETTINGS frames are read whole
// into a pooled buffer (one frame, at most maxCheckedFrame bytes) first.
// Frames it does not understand are passed on unchanged for the server to
// refuse, and after an HPACK error the check stands aside (the server
// closes the connection with COMPRESSION_ERROR).
type h2Check struct {
	net.Conn
	hdr  [frameHeaderLen]byte
	out  []byte  // bytes ready for the server: hdr, or a pooled frame
	buf  *[]byte // pooled frame buffer behind out, if any
	pass int     // payload bytes of the current frame to hand over as read

	dec       *hpack.Decoder // created at the first HEADERS frame
	maxString int            // the decoder's string limit (above the server's)
	inBlock   bool           // a header block is open (awaiting CONTINUATION)
	blockSID  uint32
	malformed bool // the open header block has a connection-specific field
	off       bool // stop checking: the server fails this connection anyway
}

const (
	frameHeaderLen = 9
	// maxCheckedFrame is SETTINGS_MAX_FRAME_SIZE as the server advertises
	// it (HTTP2Config.MaxReadFrameSize): larger frames are passed on
	// unread, and the server answers them with FRAME_SIZE_ERROR.
	maxCheckedFrame = 1 << 14
	// headerTableSize is SETTINGS_HEADER_TABLE_SIZE as the server
	// advertises it (HTTP2Config.MaxDecoderHeaderTableSize): the check's
	// decoder must accept exactly the table the server's does.
	headerTableSize = 4096

	frameData         = 0x0
	frameHeaders      = 0x1
	frameSettings     = 0x4
	frameContinuation = 0x9

	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20
)

// malformedField is the CONTINUATION frame payload appended to a malformed
// request's header block: a literal field without indexing (RFC 7541
// §6.2.2, new name) named "Connection" with an empty value. Upper case in
// a field name makes the request malformed (RFC 9113 §8.2.1), which the
// server detects while decoding the block.
var malformedField = []byte("\x00\x0aConnection\x00")

// framePool holds one frame: header, payload, and room for the appended
// CONTINUATION frame.
var framePool = sync.Pool{New: func() any {
	b := make([]byte, frameHeaderLen+maxCheckedFrame+frameHeaderLen+len(malformedField))
	return &b
}}

func newH2Check(c net.Conn, maxHeaderBytes int) *h2Check {
	return &h2Check{Conn: c, maxString: maxHeaderBytes}
}

func (c *h2Check) Read(p []byte) (int, error) {
	for {
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			if len(c.out) == 0 && c.buf != nil {
				framePool.Put(c.buf)
				c.buf = nil
			}
			return n, nil
		}
		if c.pass > 0 || c.off {
			if c.pass > 0 && len(p) > c.pass {
				p = p[:c.pass]
			}
			n, err := c.Conn.Read(p)
			if c.pass > 0 {
				c.pass -= n
			}
			return n, err
		}
		if err := c.next(); err != nil {
			return 0, err
		}
	}
}

// next reads the next frame header and, for a frame to check, the frame.
func (c *h2Check) next() error {
	if n, err := io.ReadFull(c.Conn, c.hdr[:]); err != nil {
		if n > 0 {
			// Hand over what came; the server sees the same error next.
			c.out, c.off = c.hdr[:n], true
			return nil
		}
		return err
	}
	length := int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
	typ, flags := c.hdr[3], c.hdr[4]
	sid := binary.BigEndian.Uint32(c.hdr[5:]) & (1<<31 - 1)

	check := length <= maxCheckedFrame
	switch {
	case c.inBlock && (typ != frameContinuation || sid != c.blockSID):
		// The server ends the connection with PROTOCOL_ERROR.
		c.off, check = true, false
	case typ == frameHeaders || typ == frameContinuation:
		// Too large: the server ends the connection with FRAME_SIZE_ERROR.
		c.off = !check
	case typ == frameSettings && flags&flagAck == 0 && length%6 == 0 && length <= 6*maxSettings:
	default:
		check = false
	}
	if !check {
		c.out, c.pass = c.hdr[:], length
		return nil
	}
	c.buf = framePool.Get().(*[]byte)
	b := *c.buf
	copy(b, c.hdr[:])
	if n, err := io.ReadFull(c.Conn, b[frameHeaderLen:frameHeaderLen+length]); err != nil {
		c.out, c.off = b[:frameHeaderLen+n], true
		return nil
	}
	frame := b[:frameHeaderLen+length]
	switch typ {
	case frameSettings:
		dedupSettings(frame[frameHeaderLen:])
	default:
		frame = c.headerBlock(frame, typ, flags, sid)
	}
	c.out = frame
	return nil
}

// headerBlock decodes one HEADERS or CONTINUATION frame's fragment and
// returns the frame to hand on, with the malformed-request CONTINUATION
// appended when the block ends and one of its fields was
// connection-specific.
func (c *h2Check) headerBlock(frame []byte, typ, flags byte, sid uint32) []byte {
	payload := frame[frameHeaderLen:]
	if typ == frameContinuation {
		if !c.inBlock {
			c.off = true // the server ends the connection
			return frame
		}
	} else {
		if sid == 0 {
			c.off = true
			return frame
		}
		if flags&flagPadded != 0 {
			if len(payload) == 0 || int(payload[0]) >= len(payload) {
				c.off = true
				return frame
			}
			payload = payload[1 : len(payload)-int(payload[0])]
		}
		if flags&flagPriority != 0 {
			if len(payload) < 5 {
				c.off = true
				return frame
			}
			payload = payload[5:]
		}
		c.inBlock, c.blockSID, c.malformed = true, sid, false
	}
	if c.dec == nil {
		c.dec = hpack.NewDecoder(headerTableSize, c.field)
		c.dec.SetMaxStringLength(c.maxString)
	}
	if _, err := c.dec.Write(payload); err != nil {
		c.off = true
		return frame
	}
	if flags&flagEndHeaders == 0 {
		return frame
	}
	c.inBlock = false
	if err := c.dec.Close(); err != nil {
		c.off = true
		return frame
	}
	if !c.malformed {
		return frame
	}
	// Move END_HEADERS to a CONTINUATION frame of our own.
	frame[4] &^= flagEndHeaders
	n := len(frame)
	frame = frame[:n+frameHeaderLen+len(malformedField)]
	ext := frame[n:]
	ext[0], ext[1], ext[2] = 0, 0, byte(len(malformedField))
	ext[3], ext[4] = frameContinuation, flagEndHeaders
	binary.BigEndian.PutUint32(ext[5:], sid)
	copy(ext[frameHeaderLen:], malformedField)
	return frame
}

// field is the decoder's callback for each field of a header block.
func (c *h2Check) field(f hpack.HeaderField) {
	if connectionSpecific(f.Name, f.Value) {
		c.malformed = true
	}
}

// connectionSpecific reports whether a request field makes an HTTP/2
// request malformed under RFC 9113 §8.2.2 — the same list net/http's
// HTTP/2 server checks (field names arrive lower-case; others are refused
// by the server itself). An empty TE is accepted, as net/http does: it
// carries no value other than "trailers".
func connectionSpecific(name, value string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	case "te":
		return value != "trailers" && value != ""
	}
	return false
}

// CloseWrite half-closes the connection when the underlying one can.
func (c *h2Check) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
