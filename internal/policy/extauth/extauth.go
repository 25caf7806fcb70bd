// Package extauth delegates the authentication decision to an external
// HTTP service, in the manner of nginx auth_request, Traefik ForwardAuth
// and Envoy's HTTP ext_authz: each request is described to the service
// in a bodiless subrequest; a 2xx answer admits it, any other answer is
// relayed to the client as it is.
package extauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/identity"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

const (
	// DefaultTimeout bounds one auth call when Config.Timeout is 0.
	DefaultTimeout      = 2 * time.Second
	defaultMaxBodyBytes = 64 << 10
	// DefaultSubjectHeader is the auth-response header read as the
	// subject when Config.SubjectHeader is empty.
	DefaultSubjectHeader = "X-Auth-Subject"
	// drainLimit bounds how much of an accepting response's body is read
	// (and discarded) so its connection can be reused.
	drainLimit = 4 << 10
)

var (
	defaultRequestHeaders = []string{"Authorization", "Cookie"}
	defaultClientHeaders  = []string{"WWW-Authenticate", "Location", "Set-Cookie", "Content-Type"}
)

// forbidden reports the headers never copied in either direction:
// hop-by-hop headers describe one connection, and Host and
// Content-Length describe the message they arrived in.
func forbidden(name string) bool {
	return h1wire.IsHopByHop(name) || name == "Host" || name == "Content-Length"
}

// Config configures an Authenticator.
type Config struct {
	// URL is the auth service. Each request is described to it by a GET
	// to URL (or a request with the client's method, see ForwardMethod).
	URL string
	// ForwardMethod sends the subrequest with the client's method instead
	// of GET. The client's body is never sent either way.
	ForwardMethod bool
	// Timeout bounds the whole subrequest; default 2s. A timeout or
	// connection error fails closed with 503: the service could not
	// decide, which is neither the client's fault (403) nor the gateway's
	// (500).
	Timeout time.Duration
	// RequestHeaders are the client headers copied to the subrequest;
	// default Authorization and Cookie. X-Forwarded-Method, -Uri, -Host,
	// -Proto and -For are always set.
	RequestHeaders []string
	// UpstreamHeaders are the auth-response headers sent upstream when
	// the service admits the request (e.g. X-User-Id). Client-sent copies
	// are always removed, so the upstream can trust them.
	UpstreamHeaders []string
	// ClientHeaders are the auth-response headers relayed to the client
	// on denial; default WWW-Authenticate, Location, Set-Cookie and
	// Content-Type.
	ClientHeaders []string
	// SubjectHeader is the auth-response header naming the subject, also
	// looked up as a consumer; default X-Auth-Subject. oauth2-proxy, for
	// one, sends X-Auth-Request-User.
	SubjectHeader string
	// Consumers are the configured consumers subjects map to.
	Consumers identity.Consumers
	// HTTPClient calls the service; default a client on
	// http.DefaultTransport. Redirects are never followed: they are
	// answers to relay.
	HTTPClient *http.Client
	// MaxBodyBytes bounds the denial body relayed (longer bodies are
	// truncated); default 64 KiB.
	MaxBodyBytes int64
}

// Authenticator asks the external service. It is safe for concurrent use.
type Authenticator struct {
	url             string
	forwardMethod   bool
	timeout         time.Duration
	requestHeaders  []string
	upstreamHeaders []string
	clientHeaders   []string
	subjectHeader   string
	consumers       identity.Consumers
	client          *http.Client
	maxBody         int64
}

// New compiles cfg, failing on a URL that is not absolute http(s),
// negative limits, or header lists naming hop-by-hop headers or invalid
// header names.
func New(cfg Config) (*Authenticator, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Timeout < 0 || cfg.MaxBodyBytes < 0 {
		return nil, errors.New("timeout and max body bytes must not be negative")
	}
	a := &Authenticator{
		url:           cfg.URL,
		forwardMethod: cfg.ForwardMethod,
		timeout:       cfg.Timeout,
		consumers:     cfg.Consumers,
		maxBody:       cfg.MaxBodyBytes,
	}
	if a.timeout == 0 {
		a.timeout = DefaultTimeout
	}
	if a.maxBody == 0 {
		a.maxBody = defaultMaxBodyBytes
	}
	lists := []struct {
		what     string
		dst      *[]string
		src, def []string
	}{
		{"request_headers", &a.requestHeaders, cfg.RequestHeaders, defaultRequestHeaders},
		{"upstream_headers", &a.upstreamHeaders, cfg.UpstreamHeaders, nil},
		{"client_headers", &a.clientHeaders, cfg.ClientHeaders, defaultClientHeaders},
	}
	for _, l := range lists {
		src := l.src
		if src == nil {
			src = l.def
		}
		for _, name := range src {
			if !h1wire.IsToken(name) {
				return nil, fmt.Errorf("%s: invalid header name %q", l.what, name)
			}
			name = textproto.CanonicalMIMEHeaderKey(name)
			if forbidden(name) {
				return nil, fmt.Errorf("%s: %s cannot be copied", l.what, name)
			}
			if !slices.Contains(*l.dst, name) {
				*l.dst = append(*l.dst, name)
			}
		}
	}
	a.subjectHeader = DefaultSubjectHeader
	if cfg.SubjectHeader != "" {
		if !h1wire.IsToken(cfg.SubjectHeader) {
			return nil, fmt.Errorf("invalid subject header %q", cfg.SubjectHeader)
		}
		a.subjectHeader = textproto.CanonicalMIMEHeaderKey(cfg.SubjectHeader)
	}
	client := http.Client{Transport: http.DefaultTransport}
	if cfg.HTTPClient != nil {
		client = *cfg.HTTPClient // a copy, so the caller's CheckRedirect is untouched
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	a.client = &client
	return a, nil
}

// Challenge returns "": denials carry the service's own headers.
func (a *Authenticator) Challenge() string { return "" }

// Authenticate asks the service about r. It never returns
// identity.ErrNoCredentials: the service decides about every request,
// credentials or not. A 2xx answer yields an "ext_auth" identity; any
// other answer an *identity.Error whose Response is the service's
// status, selected headers and (bounded) body; no answer in time a 503.
//
// As a side effect, client-sent copies of UpstreamHeaders are removed
// from r, so a header the service did not set cannot be forged.
func (a *Authenticator) Authenticate(r *http.Request) (*identity.Identity, error) {
	for _, name := range a.upstreamHeaders {
		r.Header.Del(name)
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.timeout)
	defer cancel()
	method := http.MethodGet
	if a.forwardMethod && r.Method != "" && r.Method != http.MethodConnect {
		method = r.Method
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url, nil)
	if err != nil {
		return nil, identity.Unavailable("external auth unavailable", err)
	}
	a.describe(req.Header, r)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, identity.Unavailable("external auth unavailable", err)
	}
	defer resp.Body.Close()
	skip := h1wire.ConnectionListed(resp.Header)

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		io.CopyN(io.Discard, resp.Body, drainLimit)
		id := &identity.Identity{Method: "ext_auth"}
		if !slices.Contains(skip, a.subjectHeader) {
			id.Subject = resp.Header.Get(a.subjectHeader)
			id.Consumer = a.consumers.Get(id.Subject)
			if id.Consumer != nil {
				id.Groups = slices.Clip(id.Consumer.Groups)
			}
		}
		id.Upstream = copyHeaders(resp.Header, a.upstreamHeaders, skip)
		return id, nil
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, a.maxBody))
	if err != nil {
		return nil, identity.Unavailable("external auth unavailable", err)
	}
	h := copyHeaders(resp.Header, a.clientHeaders, skip)
	if h == nil {
		h = http.Header{}
	}
	return nil, &identity.Error{
		Status:   resp.StatusCode,
		Detail:   "denied by external auth",
		Response: &identity.Response{Status: resp.StatusCode, Header: h, Body: body},
	}
}

// describe sets the subrequest's headers: the configured client headers,
// minus any the client's Connection header marks hop-by-hop, and the
// X-Forwarded-* description of the original request.
func (a *Authenticator) describe(h http.Header, r *http.Request) {
	skip := h1wire.ConnectionListed(r.Header)
	for _, name := range a.requestHeaders {
		if vs := r.Header[name]; len(vs) > 0 && !slices.Contains(skip, name) {
			h[name] = slices.Clone(vs)
		}
	}
	info := reqinfo.FromContext(r.Context())
	h.Set("X-Forwarded-Method", r.Method)
	h.Set("X-Forwarded-Uri", forwardedURI(r, info))
	h.Set("X-Forwarded-Host", r.Host)
	h.Set("X-Forwarded-Proto", forwardedProto(r, info))
	if ip := clientIP(r, info); ip != "" {
		h.Set("X-Forwarded-For", ip)
	}
	if info != nil && info.RequestID != "" {
		h.Set("X-Request-Id", info.RequestID)
	}
}

// forwardedURI is the path the gateway routes and forwards — the
// normalised one when the listener recorded it — so the service judges
// the same path the upstream will serve, not a spelling of it
// ("/public/../admin") that the gateway resolved differently.
func forwardedURI(r *http.Request, info *reqinfo.Info) string {
	if info == nil || info.Path == "" {
		return r.URL.RequestURI()
	}
	if r.URL.RawQuery != "" {
		return info.Path + "?" + r.URL.RawQuery
	}
	return info.Path
}

func forwardedProto(r *http.Request, info *reqinfo.Info) string {
	if info != nil && info.PeerTrusted {
		if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
			return p
		}
	}
	if r.TLS != nil {
		return "https"
	}
	return "http"
}

func clientIP(r *http.Request, info *reqinfo.Info) string {
	if info != nil && info.ClientIP.IsValid() {
		return info.ClientIP.String()
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return ""
}

// copyHeaders returns the named headers present in src and not in skip,
// or nil when there are none.
func copyHeaders(src http.Header, names, skip []string) http.Header {
	var dst http.Header
	for _, name := range names {
		if vs := src[name]; len(vs) > 0 && !slices.Contains(skip, name) {
			if dst == nil {
				dst = make(http.Header, len(names))
			}
			dst[name] = slices.Clone(vs)
		}
	}
	return dst
}
