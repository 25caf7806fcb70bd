package tcpproxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// pipe copies client ↔ target until both directions have ended (EOF each
// way), either fails, or the connection is closed (idle, drain,
// shutdown); see the package doc for why the copy is a bare io.Copy.
func (c *conn) pipe(idle time.Duration) {
	client, up := c.client, c.upstream
	if c.s.onCopy != nil {
		c.s.onCopy(client, up)
	}
	var w *watchdog
	if idle > 0 {
		w = startWatchdog(idle, func() {
			client.SetReadDeadline(aLongTimeAgo)
			up.SetReadDeadline(aLongTimeAgo)
		}, func() { c.abort(reasonIdle) })
		defer w.stop()
	}
	done := make(chan int64, 1)
	go func() { done <- c.copyHalf(client, up, reasonUpstreamClosed, w) }()
	c.up += c.copyHalf(up, client, reasonClientClosed, w)
	c.down = <-done
	c.closeBoth()
}

// copyHalf copies src to dst until src's EOF, then shuts dst's write half
// and returns; on any error it closes the whole connection. A read
// deadline the watchdog set only interrupts the copy for counting: it is
// cleared and the copy resumes. eofReason is the close reason when this
// direction ends first.
func (c *conn) copyHalf(dst, src net.Conn, eofReason string, w *watchdog) int64 {
	total, bulk, err := c.copySmall(dst, src, w)
	if !bulk && err == nil {
		return c.endHalf(dst, eofReason, total)
	}
	if bulk {
		c.s.spliced.Add(1)
	}
	for {
		if err != nil {
			if w != nil && errors.Is(err, os.ErrDeadlineExceeded) {
				src.SetReadDeadline(time.Time{})
				c.s.resumes.Add(1)
				err = nil
				continue
			}
			c.abort(reasonError)
			return total
		}
		var n int64
		n, err = io.Copy(dst, src)
		total += n
		if n > 0 && w != nil {
			w.active()
		}
		if err == nil {
			return c.endHalf(dst, eofReason, total)
		}
	}
}

// endHalf ends one direction at its EOF: the reason, if first, and the
// FIN (close_notify) to the other side.
func (c *conn) endHalf(dst net.Conn, eofReason string, total int64) int64 {
	c.setReason(eofReason)
	if err := closeWrite(dst); err != nil {
		c.abort(reasonError)
	}
	return total
}

// copySmall copies with read and write through a pooled buffer while the
// stream is interactive: for a few small messages (a short connection, a
// database's queries) two plain system calls cost less than splice's
// pipe. A read that fills the buffer, or spliceAfter bytes in all, mark
// the stream bulk, and the caller moves the rest with splice (io.Copy).
// err is nil at EOF.
func (c *conn) copySmall(dst, src net.Conn, w *watchdog) (total int64, bulk bool, err error) {
	bp := smallBufs.Get().(*[]byte)
	defer smallBufs.Put(bp)
	buf := *bp
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total, false, werr
			}
			total += int64(n)
			if w != nil {
				w.active()
			}
			if n == len(buf) || total >= spliceAfter {
				return total, true, nil
			}
		}
		switch {
		case rerr == io.EOF:
			return total, false, nil
		case rerr != nil:
			if w != nil && errors.Is(rerr, os.ErrDeadlineExceeded) {
				src.SetReadDeadline(time.Time{})
				c.s.resumes.Add(1)
				continue
			}
			return total, false, rerr
		}
	}
}

// spliceAfter is how much a direction copies by read and write before
// it moves to splice whatever its reads look like.
const spliceAfter = 64 << 10

// smallBufs are copySmall's buffers: 16 KiB, HAProxy's default bufsize.
var smallBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// aLongTimeAgo is a deadline in the past: it makes a waiting read return
// at once.
var aLongTimeAgo = time.Unix(1, 0)

// closeWrite shuts the write half of c: for TLS a close_notify alert, then
// the TCP FIN below it (tls.Conn.CloseWrite sends only the alert).
func closeWrite(c net.Conn) error {
	type closeWriter interface{ CloseWrite() error }
	if tc, ok := c.(*tls.Conn); ok {
		if err := tc.CloseWrite(); err != nil {
			return err
		}
		c = tc.NetConn()
	}
	if cw, ok := c.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
