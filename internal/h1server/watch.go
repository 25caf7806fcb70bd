package h1server

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// watchDelay is how long a handler of a request without a body may run
// before the connection is watched for the client going away. Fast
// requests (nearly all) never start a watch, so the synchronous design
// keeps its cost; a slow one (a long upstream call) learns within this
// delay plus a read that the client closed, and its context is canceled,
// which cancels the upstream request — as net/http's background read does.
const watchDelay = 100 * time.Millisecond

// closeWatch is a connection's watcher state. The timer is reused across
// requests; the watch itself runs in the timer's goroutine.
type closeWatch struct {
	mu      sync.Mutex
	timer   *time.Timer
	armed   bool          // the current request may be watched
	ctx     *reqCtx       // what to cancel when the client goes away
	running bool          // a read is in flight
	done    chan struct{} // closed when that read returned
}

// armWatch watches the connection for a close while the handler of a
// bodiless request runs, once watchDelay has passed. Only when nothing
// is buffered: a pipelined request already read means the client is
// there. While armed, nothing else touches the connection's reader: the
// request has no body, and hijack disarms first.
func (c *conn) armWatch(ctx *reqCtx) {
	if c.rb.br.Buffered() > 0 {
		return
	}
	w := &c.watch
	w.mu.Lock()
	w.armed, w.ctx = true, ctx
	w.mu.Unlock()
	if w.timer == nil {
		w.timer = time.AfterFunc(watchDelay, c.runWatch)
	} else {
		w.timer.Reset(watchDelay)
	}
}

// runWatch peeks at the connection's reader: EOF or a reset means the
// client is gone and the request is canceled; a byte that arrives (a
// pipelined request) stays in the buffer for the next request, as
// awaitRequest's own Peek would leave it; a timeout is the server aborting
// the watch (or a handler's own deadline).
func (c *conn) runWatch() {
	w := &c.watch
	w.mu.Lock()
	// running: a late firing for an earlier request may already have
	// taken this one's watch; a second reader must not start.
	if !w.armed || w.running {
		w.mu.Unlock()
		return
	}
	w.running, w.done = true, make(chan struct{})
	ctx := w.ctx
	w.mu.Unlock()

	var ne net.Error
	if _, err := c.rb.br.Peek(1); err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		ctx.cancel(context.Canceled)
	}
	close(w.done)
}

// disarmWatch ends the watch when the handler returns (or hijacks): it
// stops the timer or aborts the read in flight.
func (c *conn) disarmWatch() {
	w := &c.watch
	w.mu.Lock()
	if !w.armed {
		w.mu.Unlock()
		return
	}
	w.armed = false
	running := w.running
	w.mu.Unlock()
	w.timer.Stop()
	if !running {
		// Not started; if the timer fired just now, runWatch sees
		// armed == false and returns without reading.
		return
	}
	c.nc.SetReadDeadline(time.Now()) // abort the read
	<-w.done
	c.nc.SetReadDeadline(time.Time{})
	c.rdl = false
	w.mu.Lock()
	w.running = false
	w.mu.Unlock()
}
