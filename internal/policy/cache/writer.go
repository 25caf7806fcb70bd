package cache

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// What the capture writer does with the upstream response, decided when
// its status arrives.
const (
	modeNone        = iota // no status yet
	modePass               // to the client (unless background), captured if storable
	modeRevalidated        // a 304 to our conditional request: swallowed, the entry is served
	modeStaleError         // a 5xx with a usable stale entry: swallowed, the entry is served
)

// captureWriter is the ResponseWriter the upstream handler writes to
// during a fetch. It gives the handler its own header map, so the stored
// entry holds only the upstream's headers, not those outer middleware set
// on the client response (request ids, CORS); on pass-through it merges
// them into the client's. The body is streamed to the client as it comes
// and copied into buf up to MaxBodyBytes; beyond that the copy is dropped
// and the entry not stored, but the client still gets everything.
type captureWriter struct {
	c   *Cache
	w   http.ResponseWriter // nil for a background refresh
	f   *fetch
	hdr http.Header
	now time.Time

	mode   int
	status int

	fresh     freshness
	capturing bool
	buf       []byte
	written   int64
	failed    bool // a write to the client failed: the copy may be short
	// notModified: the client's own conditional matched; it gets a 304
	// while the body is still captured for the store.
	notModified bool
}

func (cw *captureWriter) Header() http.Header { return cw.hdr }

// Unwrap lets http.ResponseController reach the client's writer
// (deadlines); nil in the background, where nothing is supported.
func (cw *captureWriter) Unwrap() http.ResponseWriter { return cw.w }

func (cw *captureWriter) WriteHeader(code int) {
	if cw.mode != modeNone {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		return // informational responses (103) are not relayed through the cache
	}
	cw.status = code
	switch {
	case cw.f.conditional && code == http.StatusNotModified:
		cw.mode = modeRevalidated
		return
	case cw.f.sieOK && isServerError(code):
		cw.mode = modeStaleError
		return
	}
	cw.mode = modePass
	cw.fresh, cw.capturing = cw.c.storable(code, cw.hdr, cw.now)
	if cw.f.authorized && !cw.fresh.authOK {
		cw.capturing = false // RFC 9111 §3.5: not marked for requests with Authorization
	}
	if cw.c.ownField != "" {
		delete(cw.hdr, cw.c.ownField) // it targets this cache only
	}
	if cw.capturing {
		if cl := cw.hdr.Get("Content-Length"); cl != "" {
			n, err := strconv.ParseInt(cl, 10, 64)
			switch {
			case err != nil || n > cw.c.cfg.MaxBodyBytes:
				cw.capturing = false
			case n > 0:
				cw.buf = make([]byte, 0, n)
			}
		}
	}
	if cw.w == nil {
		return
	}
	dst := cw.w.Header()
	mergeHeader(dst, cw.hdr)
	dst["X-Cache"] = missValue
	if code == http.StatusOK && notModified(cw.f.clientINM, cw.f.clientIMS, cw.hdr.Get("Etag"), cw.hdr.Get("Last-Modified")) {
		cw.notModified = true
		delete(dst, "Content-Length")
		cw.w.WriteHeader(http.StatusNotModified)
		return
	}
	cw.w.WriteHeader(code)
}

func (cw *captureWriter) Write(p []byte) (int, error) {
	if cw.mode == modeNone {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.mode != modePass {
		return len(p), nil // swallowed: the stored entry is served instead
	}
	if cw.capturing {
		if cw.written+int64(len(p)) > cw.c.cfg.MaxBodyBytes {
			cw.capturing, cw.buf = false, nil
		} else {
			cw.buf = append(cw.buf, p...)
		}
	}
	cw.written += int64(len(p))
	if cw.w == nil || cw.notModified {
		return len(p), nil
	}
	n, err := cw.w.Write(p)
	if err != nil {
		cw.failed = true
	}
	return n, err
}

// Flush passes flushes through to the client while streaming.
func (cw *captureWriter) Flush() {
	if cw.mode == modeNone {
		cw.WriteHeader(http.StatusOK)
	}
	if cw.mode == modePass && cw.w != nil && !cw.notModified {
		http.NewResponseController(cw.w).Flush()
	}
}

// copyTrailers hands trailers the handler set after the header was sent
// (in its own header map) to the client's writer, which sends them when
// the handler returns.
func (cw *captureWriter) copyTrailers() {
	if cw.w == nil || cw.mode != modePass {
		return
	}
	dst := cw.w.Header()
	announced := cw.hdr["Trailer"]
	for k, vs := range cw.hdr {
		if isTrailerKey(k) || hasToken(announced, k) {
			if _, ok := dst[k]; !ok {
				dst[k] = vs
			}
		}
	}
}

// entry builds the entry to store, or nil when the response was not
// storable or its capture is incomplete.
func (cw *captureWriter) entry() *entry {
	if cw.mode != modePass || !cw.capturing || cw.failed {
		return nil
	}
	if cl := cw.hdr.Get("Content-Length"); cl != "" && strconv.FormatInt(cw.written, 10) != cl {
		return nil // the upstream body ended early
	}
	e := &entry{
		status: cw.status, fields: storedFields(cw.hdr, cw.fresh.withheld), body: cw.buf, stored: cw.now,
		lifetime: cw.fresh.lifetime, swr: cw.fresh.swr, sie: cw.fresh.sie, age0: cw.fresh.age0,
		noCache: cw.fresh.noCache, noStale: cw.fresh.noStale, authOK: cw.fresh.authOK,
	}
	e.derive()
	return e
}

func isServerError(code int) bool {
	switch code {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// mergeHeader appends src's values to dst, as the proxy does when it
// copies an upstream response.
func mergeHeader(dst, src http.Header) {
	for k, vs := range src {
		if old, ok := dst[k]; ok {
			dst[k] = append(old[:len(old):len(old)], vs...)
		} else {
			dst[k] = vs
		}
	}
}

// hasToken reports whether the comma-separated values contain token
// (case-insensitively).
func hasToken(values []string, token string) bool {
	for _, v := range values {
		if h1wire.HasToken(v, token) {
			return true
		}
	}
	return false
}
