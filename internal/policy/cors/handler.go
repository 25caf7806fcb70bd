package cors

import (
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/respwriter"
)

// Response headers the policy owns. On requests carrying an Origin the
// upstream's copies are removed, so they neither duplicate the policy's
// (browsers reject two Access-Control-Allow-Origin values) nor widen it.
var ownedHeaders = [...]string{
	"Access-Control-Allow-Origin",
	"Access-Control-Allow-Credentials",
	"Access-Control-Allow-Methods",
	"Access-Control-Allow-Headers",
	"Access-Control-Allow-Private-Network",
	"Access-Control-Expose-Headers",
	"Access-Control-Max-Age",
}

// Wrap applies the policy in front of next.
//
// A preflight (OPTIONS with Origin and Access-Control-Request-Method) is
// answered here: 204 with the CORS headers, or 403 problem+json when the
// origin, method or requested headers are not allowed. It never reaches
// next.
//
// Any other request goes to next. Without an Origin header only
// "Vary: Origin" is added, so a cache does not serve this response to a
// cross-origin request; that path does not allocate. With an Origin the
// ResponseWriter is wrapped so that, when the response header is written,
// the upstream's Access-Control-* headers are replaced with the policy's
// (none for a disallowed origin) and Origin is appended to Vary.
func (c *CORS) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origins := r.Header["Origin"]
		if len(origins) == 0 {
			addVaryOrigin(w.Header())
			next.ServeHTTP(w, r)
			return
		}
		// Several Origin fields are never sent by a browser: treat the
		// origin as not allowed rather than guess which one counts.
		value, allowed := "", false
		if len(origins) == 1 {
			value, allowed = c.allowOrigin(origins[0])
		}
		if r.Method == http.MethodOptions && len(r.Header["Access-Control-Request-Method"]) > 0 {
			c.preflight(w, r, value, allowed)
			return
		}
		cw := &writer{c: c, allowed: allowed}
		cw.Writer = respwriter.Writer{ResponseWriter: w, Hook: cw}
		cw.origin[0] = value
		defer cw.Finish() // the handler may return without writing
		next.ServeHTTP(cw, r)
	})
}

func (c *CORS) preflight(w http.ResponseWriter, r *http.Request, origin string, allowed bool) {
	h := w.Header()
	h["Vary"] = append(h["Vary"], c.preflightVary...)
	method := r.Header.Get("Access-Control-Request-Method")
	reqHeaders := r.Header["Access-Control-Request-Headers"]
	switch {
	case !allowed:
		problem.Write(w, r, http.StatusForbidden, "CORS preflight: origin not allowed")
		return
	case !c.allowMethod(method):
		problem.Write(w, r, http.StatusForbidden, "CORS preflight: method not allowed")
		return
	case !c.allowHeaders(reqHeaders):
		problem.Write(w, r, http.StatusForbidden, "CORS preflight: request headers not allowed")
		return
	}
	h.Set("Access-Control-Allow-Origin", origin)
	if c.credentials {
		h["Access-Control-Allow-Credentials"] = trueValue
	}
	if c.anyMethod {
		h.Set("Access-Control-Allow-Methods", method)
	} else {
		h["Access-Control-Allow-Methods"] = c.methodsValue
	}
	switch {
	case c.anyHeader && len(reqHeaders) > 0:
		// Reflected rather than "*": "*" does not cover Authorization
		// and means nothing with credentials. allowHeaders checked
		// every name is a token, so this cannot inject anything.
		h.Set("Access-Control-Allow-Headers", strings.Join(reqHeaders, ", "))
	case len(c.headersValue) > 0 && len(reqHeaders) > 0:
		// Only to a preflight that asked: Gateway API requires omitting
		// the header otherwise.
		h["Access-Control-Allow-Headers"] = c.headersValue
	}
	if c.exposeValue != nil {
		h["Access-Control-Expose-Headers"] = c.exposeValue
	}
	if c.maxAgeValue != nil {
		h["Access-Control-Max-Age"] = c.maxAgeValue
	}
	if c.privateNetwork && r.Header.Get("Access-Control-Request-Private-Network") == "true" {
		h["Access-Control-Allow-Private-Network"] = trueValue
	}
	w.WriteHeader(http.StatusNoContent)
}

// addVaryOrigin appends Origin to h's Vary unless it is already there.
func addVaryOrigin(h http.Header) {
	vary, ok := h["Vary"]
	if !ok {
		h["Vary"] = varyOrigin // shared, cap 1: an append elsewhere copies
		return
	}
	for _, v := range vary {
		if h1wire.HasToken(v, "Origin") || h1wire.HasToken(v, "*") {
			return
		}
	}
	h["Vary"] = append(vary, "Origin")
}

// writer sets the policy's headers on a cross-origin response the moment
// its final header is written, after the upstream's have been copied in;
// informational responses (103 Early Hints) go out as they are.
type writer struct {
	respwriter.Writer
	c       *CORS
	allowed bool
	// origin backs the Access-Control-Allow-Origin value, saving an
	// allocation.
	origin [1]string
}

// BeforeFinal applies the policy (respwriter.Hook).
func (w *writer) BeforeFinal(h http.Header, _ int) {
	for _, k := range ownedHeaders {
		delete(h, k)
	}
	addVaryOrigin(h)
	if !w.allowed {
		return
	}
	h["Access-Control-Allow-Origin"] = w.origin[:1:1]
	if w.c.credentials {
		h["Access-Control-Allow-Credentials"] = trueValue
	}
	if w.c.exposeValue != nil {
		h["Access-Control-Expose-Headers"] = w.c.exposeValue
	}
}
