// Package identity is the vocabulary shared by Gatehouse's authentication
// and authorization policies: who a request comes from (Identity), the
// configured consumers it may map to (Consumers), and the one interface
// every authentication method implements (Authenticator).
//
// Policies live in their own packages under internal/policy and import
// only this one, so the gateway can compose them in any order without
// them knowing about each other.
package identity

import (
	"errors"
	"net/http"
	"slices"
)

// Identity is an authenticated principal. The gateway stores it in the
// request's reqinfo.Info; later policies (authorization, rate limits,
// quotas), the access log and the upstream headers read it.
type Identity struct {
	// Method names the authentication that produced it: "api_key", "jwt",
	// "basic", "introspection", "ext_auth" or "mtls".
	Method string
	// Subject is the principal's id as the method knows it: a consumer
	// name, a JWT "sub", a basic-auth user, a certificate subject.
	Subject string
	// Consumer is the configured consumer the subject maps to, or nil when
	// the credential is valid but no consumer is configured for it (a JWT
	// from a trusted issuer for a user Gatehouse does not list).
	Consumer *Consumer
	// Groups and Scopes feed authorization. Groups holds the consumer's
	// groups plus any the credential carries (a JWT groups claim).
	Groups []string
	Scopes []string
	// Claims are the token's claims (JWT, introspection), nil otherwise.
	Claims map[string]any
	// Upstream holds headers the method wants sent upstream (forwarded
	// claims, headers copied from an external auth response). The gateway
	// sets them after removing any client-sent copies.
	Upstream http.Header
}

// Name is the consumer's name when there is one, else the subject: the
// key rate limits, quotas and the access log use.
func (id *Identity) Name() string {
	if id == nil {
		return ""
	}
	if id.Consumer != nil {
		return id.Consumer.Name
	}
	return id.Subject
}

// InGroup reports whether the identity has group g.
func (id *Identity) InGroup(g string) bool { return slices.Contains(id.Groups, g) }

// HasScope reports whether the identity has scope s.
func (id *Identity) HasScope(s string) bool { return slices.Contains(id.Scopes, s) }

// Consumer is a configured identity: a name, groups and metadata that
// every credential mapped to it shares.
type Consumer struct {
	Name     string
	Groups   []string
	Metadata map[string]string
	// Plan names the consumer's usage plan ("" for none).
	Plan string
}

// Consumers finds configured consumers by name. The zero value and nil
// hold none.
type Consumers map[string]*Consumer

// Get returns the consumer called name, or nil.
func (cs Consumers) Get(name string) *Consumer {
	if cs == nil {
		return nil
	}
	return cs[name]
}

// Authenticator is one authentication method compiled for one route.
//
// Authenticate returns the identity when the request carries a valid
// credential for this method; ErrNoCredentials when it carries none of
// the method's credentials (so the gateway may try the route's next
// method); or an *Error when a credential is present but refused, or the
// method cannot decide (its IdP is down).
type Authenticator interface {
	Authenticate(r *http.Request) (*Identity, error)
	// Challenge is the WWW-Authenticate value sent with a 401 when no
	// method accepted the request, e.g. `Bearer realm="api"`; "" for none.
	Challenge() string
}

// ErrNoCredentials means the request carries no credential for the method.
var ErrNoCredentials = errors.New("no credentials")

// Error is a refusal. The gateway answers with Status and a problem+json
// body saying Detail, adding Challenge as WWW-Authenticate on a 401 —
// unless Response is set, in which case that response (from an external
// auth service) is returned to the client as it is.
type Error struct {
	Status    int
	Detail    string
	Challenge string
	// Response is a complete response to relay, for external auth denials.
	Response *Response
	// Err is the underlying cause, for the log; never sent to the client.
	Err error
}

// Response is a response to relay to the client verbatim.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Detail + ": " + e.Err.Error()
	}
	return e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

// Unauthorized returns a 401 refusal with the given challenge.
func Unauthorized(detail, challenge string, cause error) *Error {
	return &Error{Status: http.StatusUnauthorized, Detail: detail, Challenge: challenge, Err: cause}
}

// Forbidden returns a 403 refusal.
func Forbidden(detail string) *Error {
	return &Error{Status: http.StatusForbidden, Detail: detail}
}

// Unavailable returns a 503 refusal: the method could not decide (its
// identity provider is down), so the request fails closed.
func Unavailable(detail string, cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Detail: detail, Err: cause}
}
