package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// switchProtocols completes an upgrade (WebSocket and the like) after the
// upstream answered 101: it checks the upstream switched to the protocol
// the client asked for, hijacks the client connection, relays the 101 and
// then tunnels bytes both ways until either side ends. reqType is the
// requested protocol ("" if the client did not ask to upgrade).
//
// The route timeout covers the handshake only: a tunnel is long-lived by
// nature, and its lifetime is bounded by either side closing.
func (h *handler) switchProtocols(w http.ResponseWriter, r *http.Request, info *reqinfo.Info, t *balancer.Target, res *http.Response, latency time.Duration, reqType string) {
	resType := upgradeType(res.Header)
	back, ok := res.Body.(io.ReadWriteCloser)
	var err error
	switch {
	case reqType == "":
		// Checked apart: with no Upgrade header either, the two "match".
		err = errors.New("upstream switched protocols unasked")
	case !strings.EqualFold(reqType, resType):
		err = fmt.Errorf("upstream switched to protocol %q, client asked for %q", resType, reqType)
	case !ok:
		err = errors.New("101 response body is not writable")
	}
	if err != nil {
		res.Body.Close()
		h.finish(t, latency, upstreamFailed, res.StatusCode)
		h.report(r, info, t, upstreamFailed, err)
		answer(w, r, upstreamFailed)
		return
	}
	// The handshake is what the balancer can judge; the tunnel's life is
	// up to the client. The in-flight count covers the whole tunnel.
	t.Observe(latency, false)
	defer t.End()
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not an upstream fault: this listener cannot hand over its
		// connection (HTTP/2, or a wrapper without Unwrap).
		back.Close()
		if info != nil {
			info.UpstreamError = err.Error()
		}
		h.log.Error("proxy: cannot hijack connection for upgrade", "route", h.route, "error", err)
		answer(w, r, upstreamFailed)
		return
	}
	defer client.Close()
	defer back.Close()
	// Server timeouts must not cut the tunnel. net/http clears its
	// deadlines on Hijack today but documents that as the caller's job.
	client.SetDeadline(time.Time{})

	h1wire.RemoveHopByHop(res.Header)
	res.Header["Connection"] = []string{"Upgrade"}
	res.Header["Upgrade"] = []string{resType}
	for k, vv := range w.Header() { // the gateway's headers, e.g. X-Request-Id
		res.Header[k] = vv
	}
	res.Body = nil // Write sends only the status line and headers
	if err := res.Write(brw); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	// Read the client through brw: it may already hold bytes the client
	// sent right after its request.
	tunnel(r.Context(), client, brw.Reader, back)
}

// tunnel copies client→back and back→client until one direction ends (EOF
// or error) or ctx is done, then closes both connections so the other
// direction ends too, and waits for it so no goroutine outlives the call.
func tunnel(ctx context.Context, client net.Conn, fromClient io.Reader, back io.ReadWriteCloser) {
	done := make(chan struct{}, 2)
	go pipe(back, fromClient, done)
	go pipe(client, back, done)
	pending := 2
	select {
	case <-done:
		pending--
	case <-ctx.Done():
	}
	client.Close()
	back.Close()
	for ; pending > 0; pending-- {
		<-done
	}
}

// pipe copies with a pooled buffer. Not io.Copy: net.TCPConn's ReadFrom
// falls back to allocating a fresh 32 KiB buffer for non-socket sources.
func pipe(dst io.Writer, src io.Reader, done chan<- struct{}) {
	copyBody(dst, src, nil)
	done <- struct{}{}
}
