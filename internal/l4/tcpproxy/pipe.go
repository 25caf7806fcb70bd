package tcpproxy

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
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
	var total int64
	for {
		n, err := io.Copy(dst, src)
		total += n
		if n > 0 && w != nil {
			w.active()
		}
		if err == nil {
			c.setReason(eofReason)
			if err := closeWrite(dst); err != nil {
				c.abort(reasonError)
			}
			return total
		}
		if w != nil && errors.Is(err, os.ErrDeadlineExceeded) {
			src.SetReadDeadline(time.Time{})
			c.s.resumes.Add(1)
			continue
		}
		c.abort(reasonError)
		return total
	}
}

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
