package h1client

import (
	"bufio"
	"context"
	"net"
	"sync"
	"time"
)

const (
	// readBufferSize matches net/http. Bodies read with a larger buffer
	// (a proxy copies with 32 KiB) bypass it, so it only holds heads and
	// chunk framing.
	readBufferSize = 4 << 10
	// writeBufferSize is large because a writer is held only while a request
	// is being written (see getWriter), so its size costs no idle memory and
	// lets uploads go out in few, large writes. See BenchmarkUpload.
	writeBufferSize = 32 << 10
	// maxPooledHead bounds the head scratch kept for reuse, so one huge
	// response does not pin memory in the buffer pool.
	maxPooledHead = 16 << 10
)

// connBufs are the read-side buffers of a connection in use. An idle
// connection holds none: they go back to bufsPool on put and are taken again
// on checkout, so 512 idle connections cost sockets, not buffers.
type connBufs struct {
	br    *bufio.Reader
	head  []byte // the response head, copied out of br line by line
	spans []span // header key/value offsets into head
}

var bufsPool = sync.Pool{New: func() any {
	return &connBufs{br: bufio.NewReaderSize(nil, readBufferSize), head: make([]byte, 0, 1024)}
}}

var writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, writeBufferSize) }}

// aLongTimeAgo is a deadline in the past: setting it makes blocked I/O on the
// conn return at once.
var aLongTimeAgo = time.Unix(1, 0)

// conn is one upstream TCP connection. It is owned by exactly one goroutine
// at a time (the round trip, then whoever reads the body) except for the
// fields under mu, which the cancellation callbacks touch.
type conn struct {
	hp     *hostPool
	nc     net.Conn
	bufs   *connBufs // nil while idle
	reused bool      // checked out of the pool at least once
	// noReuse forbids pooling after this exchange (a write failed but a
	// response was read anyway).
	noReuse bool
	idleAt  time.Time
	// idleLimit is the origin's advertised idle timeout less a margin
	// (keepalive.go); 0 when it advertised none.
	idleLimit time.Duration
	probe     probeConn // readability check at checkout (stale.go)

	ctx     context.Context
	stop    func() bool // stops the context.AfterFunc registered by watch
	abortFn func()      // allocated once per conn, reused by every watch

	mu       sync.Mutex
	gen      uint64 // bumped on every release, so stale aborts are no-ops
	aborted  bool   // deadline forced into the past: never reuse
	abortErr error
}

func newConn(hp *hostPool, nc net.Conn) *conn {
	c := &conn{hp: hp, nc: nc}
	c.abortFn = c.abortForContext
	c.probe.init(nc)
	c.bufs = bufsPool.Get().(*connBufs)
	c.bufs.br.Reset(nc)
	return c
}

// checkout attaches buffers to a connection taken from the idle stack.
func (c *conn) checkout() {
	c.reused = true
	c.bufs = bufsPool.Get().(*connBufs)
	c.bufs.br.Reset(c.nc)
}

// watch ties the exchange to ctx: cancellation forces the connection's
// deadline into the past, which unblocks the round trip or a body Read, and
// poisons the connection so it is closed rather than pooled.
func (c *conn) watch(ctx context.Context) {
	if ctx.Done() == nil {
		return
	}
	c.ctx = ctx
	c.stop = context.AfterFunc(ctx, c.abortFn)
}

func (c *conn) abortForContext() {
	// c.ctx is stable here: it is only rewritten after stop() succeeded,
	// which guarantees this callback never runs for that exchange.
	c.mu.Lock()
	if !c.aborted {
		c.aborted = true
		c.abortErr = context.Cause(c.ctx)
		c.nc.SetDeadline(aLongTimeAgo)
	}
	c.mu.Unlock()
}

// abort unblocks I/O of exchange gen (a Body.Close racing a Read); it is a
// no-op once the connection has moved on to another exchange.
func (c *conn) abort(gen uint64, err error) {
	c.mu.Lock()
	if c.gen == gen && !c.aborted {
		c.aborted = true
		c.abortErr = err
		c.nc.SetDeadline(aLongTimeAgo)
	}
	c.mu.Unlock()
}

func (c *conn) isAborted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.aborted
}

// mapErr replaces an I/O error caused by our own abort (an expired past
// deadline) with the reason for the abort, e.g. context.Canceled.
func (c *conn) mapErr(err error) error {
	c.mu.Lock()
	aerr := c.abortErr
	c.mu.Unlock()
	if aerr == nil {
		return err
	}
	if oe, ok := err.(*opError); ok {
		return &opError{op: oe.op, addr: oe.addr, err: aerr}
	}
	return aerr
}

// setHeaderDeadline bounds the wait for the response head.
func (c *conn) setHeaderDeadline(d time.Duration) {
	c.mu.Lock()
	if !c.aborted {
		c.nc.SetReadDeadline(time.Now().Add(d))
	}
	c.mu.Unlock()
}

// clearReadDeadline undoes setHeaderDeadline unless an abort has set its own
// deadline meanwhile, which must stay.
func (c *conn) clearReadDeadline() {
	c.mu.Lock()
	if !c.aborted {
		c.nc.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
}

// release ends the current exchange: back to the idle stack when keep is
// true and nothing forbids it, closed otherwise.
func (c *conn) release(keep bool) {
	if c.stop != nil {
		if c.stop() {
			c.ctx = nil
		} else {
			keep = false // the cancel callback ran or is running
		}
		c.stop = nil
	}
	c.mu.Lock()
	if c.aborted || c.noReuse {
		keep = false
	}
	c.gen++
	c.mu.Unlock()
	if keep && c.bufs.br.Buffered() != 0 {
		// The server sent more than the response: framing is out of sync.
		keep = false
	}
	c.putBufs()
	if keep {
		c.hp.put(c)
	} else {
		c.nc.Close()
	}
}

// detach ends the pool's interest in c for a protocol switch: the caller owns
// the socket and its read buffer from now on.
func (c *conn) detach() error {
	if c.stop != nil {
		ok := c.stop()
		c.stop = nil
		if !ok {
			return context.Cause(c.ctx)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	if c.aborted {
		return c.abortErr
	}
	c.nc.SetDeadline(time.Time{})
	return nil
}

func (c *conn) putBufs() {
	b := c.bufs
	if b == nil {
		return
	}
	c.bufs = nil
	b.br.Reset(nil)
	if cap(b.head) > maxPooledHead {
		b.head = make([]byte, 0, 1024)
	}
	b.head = b.head[:0]
	if cap(b.spans) > 256 {
		b.spans = nil
	}
	b.spans = b.spans[:0]
	bufsPool.Put(b)
}

func getWriter(c net.Conn) *bufio.Writer {
	bw := writerPool.Get().(*bufio.Writer)
	bw.Reset(c)
	return bw
}

func putWriter(bw *bufio.Writer) {
	bw.Reset(nil)
	writerPool.Put(bw)
}
