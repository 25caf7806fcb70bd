package gateway

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/proxy"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Headers the gateway sends upstream about the authenticated identity
// unless the route's consumer_headers say otherwise. Client-sent copies
// are always removed first, so an upstream can trust them on a route
// with authentication.
const (
	hdrConsumer = "X-Consumer-Name"
	hdrGroups   = "X-Consumer-Groups"
	hdrMethod   = "X-Auth-Method"
)

// defaultIdentityHeaders are the headers a route without
// consumer_headers sends.
var defaultIdentityHeaders = []identityHeader{{hdrConsumer, "name"}, {hdrGroups, "groups"}, {hdrMethod, "method"}}

// identityHeader is one upstream header and the identity field it
// carries: name, subject, groups, scopes, method, plan or metadata.KEY.
type identityHeader struct {
	header string
	field  string
}

// value is the field's value for id ("" when it has none).
func (h identityHeader) value(id *identity.Identity) string {
	switch h.field {
	case "name":
		return id.Name()
	case "subject":
		return id.Subject
	case "groups":
		return strings.Join(id.Groups, ",")
	case "scopes":
		return strings.Join(id.Scopes, " ")
	case "method":
		return id.Method
	case "plan":
		if id.Consumer != nil {
			return id.Consumer.Plan
		}
	default:
		if key, ok := strings.CutPrefix(h.field, "metadata."); ok && id.Consumer != nil {
			return id.Consumer.Metadata[key]
		}
	}
	return ""
}

// authorizer is the route's access rule (authz.Authz).
type authorizer interface {
	Check(id *identity.Identity) error
}

// authChain runs a route's authentication methods, then its
// authorization, then the rest of the chain.
//
// Methods are tried in order; the first that finds its credential
// decides: it accepts (identity) or refuses (error). A request with no
// credential for any method gets 401 with every method's challenge,
// unless the route allows anonymous requests.
type authChain struct {
	methods  []identity.Authenticator
	optional bool
	headers  []identityHeader
	authz    authorizer // nil: any authenticated identity
	// strip are the identity headers a client must never set: the
	// gateway's own and those methods forward (claims, ext auth headers).
	strip []string
	next  http.Handler
}

func (a *authChain) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for _, h := range a.strip {
		delete(r.Header, h)
	}
	var id *identity.Identity
	var refusal error
	for _, m := range a.methods {
		got, err := m.Authenticate(r)
		if err == nil {
			id = got
			break
		}
		if errors.Is(err, identity.ErrNoCredentials) {
			continue
		}
		refusal = err
		break
	}
	if id == nil && refusal == nil && !a.optional {
		writeRefusal(w, r, identity.Unauthorized("authentication required", "", nil), a.methods)
		return
	}
	if refusal != nil {
		writeRefusal(w, r, refusal, a.methods)
		return
	}
	if a.authz != nil {
		if err := a.authz.Check(id); err != nil {
			writeRefusal(w, r, err, a.methods)
			return
		}
	}
	if id != nil {
		if info := reqinfo.FromContext(r.Context()); info != nil {
			info.Identity = id
		}
		// Connection-listed headers go now, not in the proxy: removed
		// after the identity headers are set, a client could use
		// "Connection: X-Consumer-Name" to strip what the gateway asserts.
		// Authentication has already seen the request as sent.
		proxy.StripConnectionListed(r.Header)
		for _, h := range a.headers {
			if v := h.value(id); v != "" {
				r.Header[h.header] = []string{v}
			}
		}
		for k, vs := range id.Upstream {
			r.Header[k] = vs
		}
	}
	a.next.ServeHTTP(w, r)
}

// writeRefusal answers a refused request: a relayed external-auth
// response, or a problem body with the right status and challenges.
func writeRefusal(w http.ResponseWriter, r *http.Request, err error, methods []identity.Authenticator) {
	var e *identity.Error
	if !errors.As(err, &e) {
		e = identity.Unauthorized("invalid credentials", "", err)
	}
	if info := reqinfo.FromContext(r.Context()); info != nil && e.Err != nil {
		info.UpstreamError = e.Err.Error() // for the access log; never sent
	}
	if resp := e.Response; resp != nil {
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.Status)
		w.Write(resp.Body)
		return
	}
	if e.Status == http.StatusUnauthorized {
		if e.Challenge != "" {
			w.Header().Add("WWW-Authenticate", e.Challenge)
		} else {
			for _, m := range methods {
				if c := m.Challenge(); c != "" {
					w.Header().Add("WWW-Authenticate", c)
				}
			}
		}
	} else if e.Challenge != "" {
		// 403 insufficient_scope (RFC 6750 §3.1) also carries a challenge.
		w.Header().Add("WWW-Authenticate", e.Challenge)
	}
	status := e.Status
	if status == 0 {
		status = http.StatusUnauthorized
	}
	problem.Write(w, r, status, e.Detail)
}
