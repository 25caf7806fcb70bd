package h1client

import (
	"io"
	"sync"
)

// maxReplayBytes bounds the request body kept for a retry on a fresh
// connection. A request whose body went beyond it is not retried (unless
// Request.GetBody can rewind it); the proxy's own replay buffer, when its
// route has a retry policy, then decides about another target.
const maxReplayBytes = 64 << 10

// replayChunk is the size of the pooled buffers; bodies up to it (most API
// requests) cost no allocation.
const replayChunk = 4 << 10

// replayReader keeps what an attempt on a reused connection read of a
// request body, so the request can be sent again on a fresh connection when
// the reused one turns out to have been closed by the origin (see
// RoundTrip). Without it a POST or PUT would fail whenever an origin's idle
// close races with the checkout: the body was read from the client before
// the failure showed. Memory is bounded by maxReplayBytes.
type replayReader struct {
	src       io.Reader
	buf       []byte
	pos       int  // what the second attempt has read of buf
	replaying bool // second attempt: buf first, then src
	over      bool // more than maxReplayBytes read: cannot replay
}

var replayPool = sync.Pool{New: func() any {
	return &replayReader{buf: make([]byte, 0, replayChunk)}
}}

func newReplayReader(src io.Reader) *replayReader {
	r := replayPool.Get().(*replayReader)
	r.src = src
	return r
}

func (r *replayReader) Read(p []byte) (int, error) {
	if r.replaying {
		if r.pos < len(r.buf) {
			n := copy(p, r.buf[r.pos:])
			r.pos += n
			return n, nil
		}
		return r.src.Read(p)
	}
	n, err := r.src.Read(p)
	if n > 0 && !r.over {
		if len(r.buf)+n > maxReplayBytes {
			r.over, r.buf = true, r.buf[:0]
		} else {
			r.buf = append(r.buf, p[:n]...)
		}
	}
	return n, err
}

// Close leaves the client's body open: RoundTrip closes it once no attempt
// can read it any more.
func (r *replayReader) Close() error { return nil }

// rewind prepares the second attempt; false means the body cannot be sent
// again.
func (r *replayReader) rewind() bool {
	if r.over || r.replaying {
		return false
	}
	r.replaying, r.pos = true, 0
	return true
}

// free returns r to the pool; r must not be used afterwards.
func (r *replayReader) free() {
	if cap(r.buf) > replayChunk {
		r.buf = make([]byte, 0, replayChunk) // do not pin a large buffer
	}
	*r = replayReader{buf: r.buf[:0]}
	replayPool.Put(r)
}
