package h1wire

import (
	"bufio"
	"errors"
)

// ErrHeadTooLarge is returned by ReadHead when the head exceeds its limit.
var ErrHeadTooLarge = errors.New("h1wire: message head too large")

// ReadHead reads one message head, start line through the empty line
// that ends it, appending to buf[:0]. Lines longer than the reader's
// buffer are assembled piecewise; the total is bounded by limit. With
// skipEmpty, empty lines before the start line are dropped, as a server
// should for requests (RFC 9112 §2.2); without it they stay in the head
// (for a response they make the status line invalid). On an error the
// bytes read so far are returned, so the caller can tell a connection
// closed before any byte from one closed mid-head.
func ReadHead(br *bufio.Reader, buf []byte, limit int, skipEmpty bool) ([]byte, error) {
	buf = buf[:0]
	lineStart := 0
	for {
		frag, err := br.ReadSlice('\n')
		if len(buf)+len(frag) > limit {
			return buf, ErrHeadTooLarge
		}
		buf = append(buf, frag...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return buf, err
		}
		if n := len(buf) - lineStart; n == 1 || n == 2 && buf[lineStart] == '\r' {
			if lineStart > 0 {
				return buf, nil
			}
			if skipEmpty {
				buf = buf[:0]
				continue
			}
		}
		lineStart = len(buf)
	}
}
