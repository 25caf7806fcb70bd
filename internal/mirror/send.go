package mirror

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// copyReq is the request as the primary's action is about to see it,
// captured before the action edits it (the proxy edits the header in
// place), and the targets that will get a copy.
type copyReq struct {
	m       *Mirror
	targets []*target

	method     string
	url        url.URL
	path       string // normalised, escaped: what the proxy forwards
	host       string // already with the shadow suffix
	header     http.Header
	proto      string
	protoMajor int
	protoMinor int
	remoteAddr string
	tls        *tls.ConnectionState
	info       reqinfo.Info // the fields a copy's Info starts with
}

// capture copies what a copy of r needs.
func capture(m *Mirror, r *http.Request, sel []*target) *copyReq {
	c := &copyReq{
		m: m, targets: sel,
		method: r.Method, url: *r.URL, host: ShadowHost(r.Host), header: r.Header.Clone(),
		proto: r.Proto, protoMajor: r.ProtoMajor, protoMinor: r.ProtoMinor,
		remoteAddr: r.RemoteAddr, tls: r.TLS,
	}
	if c.header == nil {
		c.header = make(http.Header)
	}
	// A copy never opens a tunnel: without Upgrade the proxy sends it as a
	// plain request (and strips Connection as hop-by-hop). Nor does it wait
	// for 100 Continue: its body is complete before it leaves.
	delete(c.header, "Upgrade")
	delete(c.header, "Expect")
	if info := reqinfo.FromContext(r.Context()); info != nil {
		c.info = reqinfo.Info{
			ClientIP: info.ClientIP, PeerTrusted: info.PeerTrusted, RequestID: info.RequestID,
			Route: info.Route, Path: info.Path, Params: info.Params, Identity: info.Identity,
		}
	}
	if c.info.Path == "" {
		c.info.Path = r.URL.EscapedPath()
	}
	return c
}

// ShadowHost is host with "-shadow" appended to its name, before any port,
// as Envoy marks mirrored requests. An empty host stays empty.
func ShadowHost(host string) string {
	if host == "" {
		return ""
	}
	if h, port, err := net.SplitHostPort(host); err == nil {
		return net.JoinHostPort(h+"-shadow", port)
	}
	return host + "-shadow"
}

// dispatch sends a copy with body to each target, each from its own
// goroutine. body is shared read-only by the copies.
func (c *copyReq) dispatch(body []byte) {
	for i, t := range c.targets {
		h := c.header
		if i < len(c.targets)-1 {
			h = h.Clone() // the proxy edits the header in place
		}
		go c.send(t, h, body)
	}
}

// drop gives up every copy: their slots are freed and counted Dropped.
func (c *copyReq) drop() {
	for _, t := range c.targets {
		t.release(Dropped)
	}
}

// send sends one copy and discards the answer.
func (c *copyReq) send(t *target, h http.Header, body []byte) {
	res := Failed
	defer func() {
		// The proxy aborts a response whose body breaks with a panic
		// (http.ErrAbortHandler); here nobody is left to abort, and no
		// copy may take the process down: any panic counts as Failed.
		recover()
		t.release(res)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), c.m.timeout)
	defer cancel()
	info := c.info
	info.Start = time.Now()
	r := &http.Request{
		Method: c.method, Proto: c.proto, ProtoMajor: c.protoMajor, ProtoMinor: c.protoMinor,
		Header: h, Host: c.host, RemoteAddr: c.remoteAddr, TLS: c.tls,
		Body: http.NoBody, ContentLength: int64(len(body)),
	}
	u := c.url
	r.URL = &u
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	r = r.WithContext(reqinfo.NewContext(ctx, &info))
	w := &discard{}
	t.send.ServeHTTP(w, r)
	if info.UpstreamError == "" && w.status != 0 {
		res = Sent
	}
}

// discard is the ResponseWriter a copy's answer goes to: it keeps the
// status and drops the rest.
type discard struct {
	header http.Header
	status int
}

func (d *discard) Header() http.Header {
	if d.header == nil {
		d.header = make(http.Header)
	}
	return d.header
}

func (d *discard) WriteHeader(code int) {
	if d.status == 0 && code >= 200 {
		d.status = code
	}
}

func (d *discard) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	return len(p), nil
}
