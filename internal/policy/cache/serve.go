package cache

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// serveEntry answers r from e with the given X-Cache label: the stored
// headers (appended to any the outer chain set, as the proxy does), Age,
// and either the body or, when the client's conditional matches, a 304.
// A HEAD gets the headers only.
func (c *Cache) serveEntry(w http.ResponseWriter, r *http.Request, e *entry, label string, now time.Time) {
	h := w.Header()
	for _, f := range e.fields {
		if old, ok := h[f.name]; ok {
			h[f.name] = append(old[:len(old):len(old)], f.vals...)
		} else if e.shared {
			h[f.name] = slices.Clone(f.vals)
		} else {
			h[f.name] = f.vals
		}
	}
	h["X-Cache"] = xCache(label)
	h["Age"] = []string{strconv.FormatInt(int64(e.age(now)/time.Second), 10)}
	// Without Last-Modified, If-Modified-Since is evaluated against the
	// stored response's Date (RFC 9111 §4.3.2), never later than when it
	// was last modified.
	lm := e.lastModified
	if lm == "" {
		lm = e.header("Date")
	}
	if e.status == http.StatusOK && notModified(r.Header.Get("If-None-Match"), r.Header.Get("If-Modified-Since"), e.etag, lm) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if bodyAllowed(e.status) {
		h["Content-Length"] = []string{strconv.Itoa(len(e.body))}
	}
	w.WriteHeader(e.status)
	if r.Method != http.MethodHead && len(e.body) > 0 && bodyAllowed(e.status) {
		w.Write(e.body)
	}
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified && status >= 200
}
