package action

import (
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/router"
)

// DefaultRedirectStatus is a redirect's status when none is given: 302,
// as Gateway API's RequestRedirect filter.
const DefaultRedirectStatus = http.StatusFound

// RedirectConfig says what of the request's URL a redirect replaces.
// Empty fields keep the request's own: the zero Scheme keeps the scheme
// (and the port the client used), the zero Port the scheme's port, the
// zero Path the normalised request path. Status 0 means DefaultRedirectStatus.
//
// PrefixEdit replaces, instead of the whole path, the part the route's
// prefix match matched (Prefixes, "/" for a route without match) by
// PrefixTo: Gateway API's ReplacePrefixMatch. Path and PrefixEdit are
// exclusive (config validates it).
type RedirectConfig struct {
	Scheme, Host, Path string
	Port               int
	Status             int

	PrefixEdit bool
	PrefixTo   string
	Prefixes   []string
}

// Redirect answers with a Location built from the request and the
// configured replacements, as Gateway API's RequestRedirect filter does.
type Redirect struct {
	c      RedirectConfig
	prefix *router.PrefixReplacer // nil unless c.PrefixEdit
}

// NewRedirect compiles c.
func NewRedirect(c RedirectConfig) *Redirect {
	if c.Status == 0 {
		c.Status = DefaultRedirectStatus
	}
	a := &Redirect{c: c}
	if c.PrefixEdit {
		a.prefix = router.NewPrefixReplacer(c.Prefixes, c.PrefixTo)
	}
	return a
}

func (a *Redirect) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Location", a.location(r))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(a.c.Status)
}

// location is the redirect's target for r.
func (a *Redirect) location(r *http.Request) string {
	scheme := a.c.Scheme
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
	host := a.c.Host
	if host == "" {
		host = reqHost
	}
	port := ""
	switch {
	case a.c.Port != 0:
		port = strconv.Itoa(a.c.Port)
	case a.c.Scheme == "":
		port = reqPort // same scheme: keep the port the client used
	}
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	path := a.c.Path
	if path == "" {
		path = r.URL.EscapedPath()
		if info := reqinfo.FromContext(r.Context()); info != nil {
			path = info.Path
		}
		if a.prefix != nil {
			// The request path is normalised and the replacement was
			// validated to start with "/": the result needs no escaping.
			path = a.prefix.Replace(path)
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
	return b.String()
}
