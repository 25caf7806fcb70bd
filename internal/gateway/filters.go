package gateway

import (
	"bufio"
	"net"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/router"
)

// headerEdit is a compiled request_headers / response_headers filter.
type headerEdit struct {
	set, add [][2]string // canonical names
	remove   []string
}

func newHeaderEdit(c *config.HeaderFilter) *headerEdit {
	e := &headerEdit{}
	for k, v := range c.Set {
		e.set = append(e.set, [2]string{http.CanonicalHeaderKey(k), v})
	}
	for k, v := range c.Add {
		e.add = append(e.add, [2]string{http.CanonicalHeaderKey(k), v})
	}
	for _, k := range c.Remove {
		e.remove = append(e.remove, http.CanonicalHeaderKey(k))
	}
	return e
}

func (e *headerEdit) apply(h http.Header) {
	for _, k := range e.remove {
		delete(h, k)
	}
	for _, kv := range e.set {
		h[kv[0]] = []string{kv[1]}
	}
	for _, kv := range e.add {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
}

// requestHeaders edits the request before the action sees it. "Host" is
// not a header in net/http's model; setting it changes r.Host.
func requestHeaders(e *headerEdit, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.apply(r.Header)
		if h, ok := r.Header["Host"]; ok {
			if len(h) > 0 {
				r.Host = h[0]
			}
			delete(r.Header, "Host")
		}
		next.ServeHTTP(w, r)
	})
}

// responseHeaders edits the response headers just before they are sent.
func responseHeaders(e *headerEdit, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&editWriter{ResponseWriter: w, edit: e}, r)
	})
}

type editWriter struct {
	http.ResponseWriter
	edit *headerEdit
	done bool
}

func (w *editWriter) WriteHeader(code int) {
	if !w.done && code >= 200 {
		w.done = true
		w.edit.apply(w.ResponseWriter.Header())
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *editWriter) Write(p []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(p)
}

func (w *editWriter) Flush() {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *editWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

func (w *editWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// urlRewrite is Gateway API's URLRewrite filter. The rewritten path is
// normalised again, so a rewrite can never produce a path that would not
// have passed the front door.
type urlRewrite struct {
	hostname    string
	fullPath    string
	prefixTo    string
	prefixes    []string // the route's prefix matches, longest first
	hasPathEdit bool
}

func newURLRewrite(c *config.URLRewrite, prefixes []string) *urlRewrite {
	u := &urlRewrite{hostname: c.Hostname, prefixes: prefixes}
	if c.Path != nil {
		u.hasPathEdit = true
		u.fullPath = c.Path.ReplaceFullPath
		u.prefixTo = c.Path.ReplacePrefixMatch
	}
	return u
}

// rewritePath returns the new path for p.
func (u *urlRewrite) rewritePath(p string) string {
	if u.fullPath != "" {
		return u.fullPath
	}
	for _, pre := range u.prefixes {
		pre = strings.TrimSuffix(pre, "/")
		if p == pre || strings.HasPrefix(p, pre+"/") || pre == "" {
			rest := p[len(pre):]
			to := strings.TrimSuffix(u.prefixTo, "/")
			if rest == "" {
				if to == "" {
					return "/"
				}
				return to
			}
			return to + rest
		}
	}
	return p
}

func (u *urlRewrite) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.hostname != "" {
			r.Host = u.hostname
		}
		if u.hasPathEdit {
			info := reqinfo.FromContext(r.Context())
			if info != nil {
				p, err := router.Normalize(u.rewritePath(info.Path))
				if err != nil {
					problem.Write(w, r, http.StatusBadRequest, "the rewritten path is malformed")
					return
				}
				info.Path = p
			}
		}
		next.ServeHTTP(w, r)
	})
}
