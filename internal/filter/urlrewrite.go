package filter

import (
	"net/http"

	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/router"
)

// URLRewriteConfig is Gateway API's URLRewrite filter. Hostname replaces
// the Host; FullPath replaces the whole path, or PrefixTo replaces the
// part the route's prefix match matched (Prefixes: the route's prefix
// matches; a route with no match at all matches every path, so its
// caller passes "/"). The zero value rewrites nothing.
type URLRewriteConfig struct {
	Hostname string
	FullPath string
	PrefixTo string
	// PathEdit: FullPath or PrefixTo was given (PrefixTo "" is "/").
	PathEdit bool
	Prefixes []string
}

// urlRewrite is a compiled URLRewriteConfig. The rewritten path is
// normalised again, so a rewrite can never produce a path that would not
// have passed the front door.
type urlRewrite struct {
	c      URLRewriteConfig
	prefix *router.PrefixReplacer
}

// URLRewrite compiles c into a filter.
func URLRewrite(c URLRewriteConfig) func(http.Handler) http.Handler {
	u := newURLRewrite(c)
	return u.wrap
}

func newURLRewrite(c URLRewriteConfig) *urlRewrite {
	return &urlRewrite{c: c, prefix: router.NewPrefixReplacer(c.Prefixes, c.PrefixTo)}
}

// rewritePath returns the new path for p.
func (u *urlRewrite) rewritePath(p string) string {
	if u.c.FullPath != "" {
		return u.c.FullPath
	}
	return u.prefix.Replace(p)
}

func (u *urlRewrite) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u.c.Hostname != "" {
			r.Host = u.c.Hostname
		}
		if u.c.PathEdit {
			if info := reqinfo.FromContext(r.Context()); info != nil {
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
