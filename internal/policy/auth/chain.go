package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Authorizer is a route's access rule (authz.Authz).
type Authorizer interface {
	Check(id *identity.Identity) error
}

// Config is one route's authentication step. The zero value has no
// methods and refuses every request with 401 (Optional lets anonymous
// requests through).
type Config struct {
	// Methods are tried in order; the first that finds its credential
	// decides.
	Methods []identity.Authenticator
	// Authorize checks the identity (nil: any authenticated identity).
	Authorize Authorizer
	// Optional lets requests with no credential for any method through
	// anonymously; a bad credential is still refused.
	Optional bool
	// Headers are the identity headers sent upstream (nil: DefaultHeaders).
	Headers []IdentityHeader
	// Strip are further headers a client must never set because a method
	// sets them (forwarded claims, ext auth headers, the mTLS header).
	Strip []string
}

// Chain runs a route's authentication methods, then its authorization,
// then the next handler.
type Chain struct {
	methods  []identity.Authenticator
	authz    Authorizer
	optional bool
	headers  []IdentityHeader
	// strip are the identity headers a client must never set: the
	// default names (an upstream may trust them from other routes even
	// when this route renames them), this route's and the methods'.
	strip []string
}

// New compiles c.
func New(c Config) *Chain {
	a := &Chain{methods: c.Methods, authz: c.Authorize, optional: c.Optional, headers: DefaultHeaders}
	if c.Headers != nil {
		a.headers = slices.Clone(c.Headers)
		for i := range a.headers {
			a.headers[i].Header = http.CanonicalHeaderKey(a.headers[i].Header)
		}
		slices.SortFunc(a.headers, func(x, y IdentityHeader) int { return strings.Compare(x.Header, y.Header) })
	}
	a.strip = []string{HeaderConsumer, HeaderGroups, HeaderMethod}
	for _, h := range a.headers {
		a.strip = appendUnique(a.strip, h.Header)
	}
	for _, h := range c.Strip {
		a.strip = appendUnique(a.strip, http.CanonicalHeaderKey(h))
	}
	return a
}

func appendUnique(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// Wrap puts the chain in front of next.
func (a *Chain) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serve(w, r, next) })
}

func (a *Chain) serve(w http.ResponseWriter, r *http.Request, next http.Handler) {
	for _, h := range a.strip {
		delete(r.Header, h)
	}
	id, refusal := a.authenticate(r)
	if id == nil && refusal == nil && !a.optional {
		refusal = identity.Unauthorized("authentication required", "", nil)
	}
	if refusal == nil && a.authz != nil {
		refusal = a.authz.Check(id)
	}
	if refusal != nil {
		writeRefusal(w, r, refusal, a.methods)
		return
	}
	if id != nil {
		if info := reqinfo.FromContext(r.Context()); info != nil {
			info.Identity = id
		}
		// Connection-listed headers go now, not in the proxy: removed
		// after the identity headers are set, a client could use
		// "Connection: X-Consumer-Name" to strip what the gateway asserts.
		// Authentication has already seen the request as sent.
		h1wire.StripConnectionListed(r.Header)
		setIdentityHeaders(r.Header, a.headers, id)
		for k, vs := range id.Upstream {
			r.Header[k] = vs
		}
	}
	next.ServeHTTP(w, r)
}

// authenticate tries the methods in order: the first that finds its
// credential decides, with an identity or a refusal. Both nil: no
// credential for any method.
func (a *Chain) authenticate(r *http.Request) (*identity.Identity, error) {
	for _, m := range a.methods {
		got, err := m.Authenticate(r)
		if err == nil {
			return got, nil
		}
		if !errors.Is(err, identity.ErrNoCredentials) {
			return nil, err
		}
	}
	return nil, nil
}
