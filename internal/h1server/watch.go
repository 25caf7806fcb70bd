package h1server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
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
	got     [1]byte       // a byte the read took (a pipelined request)
	gotN    int
}

// armWatch watches the connection for a close while the handler of a
// bodiless request runs, once watchDelay has passed. Only when nothing
// is buffered: a pipelined request already read means the client is
// there, and reading more would reorder it.
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

// runWatch reads one byte: EOF or a reset means the client is gone and
// the request is canceled; a byte is kept for the next request; a timeout
// is the server aborting the watch (or a handler's own deadline).
func (c *conn) runWatch() {
	w := &c.watch
	w.mu.Lock()
	if !w.armed {
		w.mu.Unlock()
		return
	}
	w.running, w.done = true, make(chan struct{})
	ctx := w.ctx
	w.mu.Unlock()

	n, err := c.nc.Read(w.got[:])
	w.gotN = n
	if n == 0 && err != nil && !isTimeout(err) {
		ctx.cancel(context.Canceled)
	}
	close(w.done)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// disarmWatch ends the watch when the handler returns (or hijacks): it
// stops the timer or aborts the read in flight, and puts back a byte the
// read took.
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
	if w.gotN > 0 {
		// Rare: the next request began arriving during a slow handler.
		b := []byte{w.got[0]}
		w.gotN = 0
		c.rb.br.Reset(io.MultiReader(bytes.NewReader(b), c.nc))
	}
}
