package proxy

import (
	"errors"
	"sync"
)

// errStaleAttempt is returned to a transport still reading the request body
// of an attempt that has been given up for a retry.
var errStaleAttempt = errors.New("proxy: request body read by an abandoned attempt")

// replayBody keeps the first bytes of the client's body as they stream to
// the target, so a retry can send them again and then carry on from the
// client. Memory is bounded: once more than limit bytes have been read the
// copy is dropped and the body can no longer be replayed.
//
// Each attempt reads through its own attemptBody. A transport may go on
// reading an abandoned attempt's body after RoundTrip returned (HTTP/2, or
// HTTP/1 when the response came before the body was sent); such reads fail
// once a retry has rewound the body, so two attempts never share the
// client's stream. The client's body is read outside the lock; a rewind
// while such a read is in progress fails instead of waiting for a slow
// client.
type replayBody struct {
	src   *requestBody
	limit int64 // bytes kept; a read beyond them ends replayability

	mu       sync.Mutex
	gen      uint32 // the current attempt
	buf      []byte // the first bytes read from src, while replayable
	pos      int    // what the current attempt has read of buf
	read     int64  // bytes read from src
	overflow bool   // more than limit bytes were read: not replayable
	reading  bool   // a read from src is in progress

	firstBody attemptBody
}

// attemptBody is one attempt's view of a replayBody.
type attemptBody struct {
	rb  *replayBody
	gen uint32
}

func (a *attemptBody) Read(p []byte) (int, error) {
	rb := a.rb
	rb.mu.Lock()
	if a.gen != rb.gen {
		rb.mu.Unlock()
		return 0, errStaleAttempt
	}
	if rb.pos < len(rb.buf) {
		n := copy(p, rb.buf[rb.pos:])
		rb.pos += n
		rb.mu.Unlock()
		return n, nil
	}
	rb.reading = true
	rb.mu.Unlock()

	n, err := rb.src.Read(p)

	rb.mu.Lock()
	rb.reading = false
	if n > 0 {
		rb.read += int64(n)
		if rb.read > rb.limit {
			rb.overflow, rb.buf, rb.pos = true, nil, 0
		} else {
			rb.buf = appendBounded(rb.buf, p[:n], rb.limit)
			rb.pos = len(rb.buf)
		}
	}
	rb.mu.Unlock()
	return n, err
}

// Close does not close the client's body; see requestBody.
func (a *attemptBody) Close() error { return nil }

// appendBounded appends p to buf, growing it geometrically but never past
// limit, so a 1 KiB body does not cost a 64 KiB buffer.
func appendBounded(buf, p []byte, limit int64) []byte {
	if need := len(buf) + len(p); need > cap(buf) {
		c := int(min(int64(max(2*cap(buf), need, 4<<10)), limit))
		nb := make([]byte, len(buf), c)
		copy(nb, buf)
		buf = nb
	}
	return append(buf, p...)
}

// first returns the body for the first attempt.
func (rb *replayBody) first() *attemptBody {
	rb.firstBody.rb = rb
	return &rb.firstBody
}

// replayable reports whether everything read so far can be sent again.
func (rb *replayBody) replayable() bool {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return !rb.overflow && !rb.reading
}

// rewind starts a new attempt: the previous attempt's body reads fail from
// now on, and the returned body replays what was read and then continues
// with the client's. It returns nil (and changes nothing) when the body
// cannot be replayed.
func (rb *replayBody) rewind() *attemptBody {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.overflow || rb.reading {
		return nil
	}
	rb.gen++
	rb.pos = 0
	return &attemptBody{rb: rb, gen: rb.gen}
}
