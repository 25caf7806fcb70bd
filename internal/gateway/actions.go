package gateway

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// respond answers directly from configuration: mocks, maintenance pages,
// health endpoints, the quickstart's demo backends.
type respond struct {
	status int
	header http.Header
	body   []byte
}

func newRespond(c *config.Respond) *respond {
	h := http.Header{}
	for k, v := range c.Headers {
		h.Set(k, v)
	}
	if h.Get("Content-Type") == "" && c.Body != "" {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	h.Set("Content-Length", strconv.Itoa(len(c.Body)))
	return &respond{status: c.Status, header: h, body: []byte(c.Body)}
}

// respondReadLimit bounds the request body respond reads before it
// answers; a larger body is left to the server to discard or reset.
const respondReadLimit = 64 << 10

func (a *respond) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Answer once the request is complete (up to respondReadLimit): an
	// answer sent earlier races the rest of the body, which then meets a
	// reset stream (HTTP/2) or connection, and a request whose framing
	// turns out malformed later (content-length not matching the DATA
	// frames, RFC 9113 §8.1.1) would get a 200 instead of the server's
	// stream error. A body that fails to read gets no answer: the server
	// has already answered or reset it.
	if r.Body != nil && r.Body != http.NoBody {
		if _, err := io.Copy(io.Discard, io.LimitReader(r.Body, respondReadLimit)); err != nil {
			return
		}
	}
	dst := w.Header()
	for k, v := range a.header {
		// Copy the slice: a response filter may append to it.
		dst[k] = append([]string(nil), v...)
	}
	if a.status == http.StatusNoContent || a.status == http.StatusNotModified || a.status < 200 {
		dst.Del("Content-Length")
		w.WriteHeader(a.status)
		return
	}
	w.WriteHeader(a.status)
	if r.Method != http.MethodHead {
		w.Write(a.body)
	}
}

// redirect answers with a Location built from the request and the
// configured replacements, as Gateway API's RequestRedirect filter does.
type redirect struct {
	scheme, host, path string
	port               int
	status             int
}

func newRedirect(c *config.Redirect) *redirect {
	return &redirect{scheme: c.Scheme, host: c.Host, path: c.Path, port: c.Port, status: c.Status}
}

func (a *redirect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	scheme := a.scheme
	if scheme == "" {
		scheme = "http"
		if r.TLS != nil {
			scheme = "https"
		}
	}
	reqHost, reqPort := r.Host, ""
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		reqHost, reqPort = h, p
	}
	host := a.host
	if host == "" {
		host = reqHost
	}
	port := ""
	switch {
	case a.port != 0:
		port = strconv.Itoa(a.port)
	case a.scheme == "":
		port = reqPort // same scheme: keep the port the client used
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	path := a.path
	if path == "" {
		path = r.URL.EscapedPath()
		if info := reqinfo.FromContext(r.Context()); info != nil {
			path = info.Path
		}
	}
	var b strings.Builder
	b.WriteString(scheme)
	b.WriteString("://")
	if strings.IndexByte(host, ':') >= 0 { // IPv6 literal
		b.WriteString("[" + strings.Trim(host, "[]") + "]")
	} else {
		b.WriteString(host)
	}
	if port != "" {
		b.WriteString(":" + port)
	}
	b.WriteString(path)
	if r.URL.RawQuery != "" {
		b.WriteString("?" + r.URL.RawQuery)
	}
	w.Header().Set("Location", b.String())
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(a.status)
}
