// Package proxy is Gatehouse's streaming HTTP reverse proxy: the handler at
// the end of a route that forwards a request to one target of an upstream
// pool and streams the answer back, including WebSocket tunnels and gRPC.
//
// It runs after the gateway has normalised the path (reqinfo.Info.Path),
// resolved the client through trusted proxies and assigned a request ID.
// The hot path allocates one struct per request on top of what net/http
// needs: the incoming request's header map is edited in place and shallow
// copied into the outgoing request, and response header slices are moved,
// not copied.
//
// # Request smuggling
//
// net/http's server gives these guarantees, which the proxy relies on:
// a request with both Content-Length and Transfer-Encoding is read as
// chunked and its Content-Length header deleted before the handler runs;
// conflicting Content-Length values, an invalid Content-Length and any
// Transfer-Encoding other than "chunked" are refused (400/501) with the
// connection closed; malformed chunking surfaces as a body read error and
// the server closes the connection after the response. The proxy adds:
// the body is re-framed by the transport from Request.ContentLength, never
// from the client's framing headers, so the upstream cannot disagree with
// Gatehouse about where the request ends; a body read error is answered
// 400 rather than 502; and because net/http keeps a connection alive after
// a CL+TE request and leaves no trace of the Content-Length it dropped,
// the proxy closes every HTTP/1 connection that sent a chunked request
// once it is answered (what HAProxy does for CL+TE). Chunked uploads are
// rare and long, so the reconnect costs little; whatever a front proxy
// that trusted the Content-Length queued behind the body is discarded.
//
// # Retries and circuit breaking
//
// A failed attempt is retried on another target as the route's
// RetryPolicy says (by default only HAProxy-style redispatch of idempotent
// bodiless requests that could not connect or were reset). A retry never
// sends anything the client already received: a retried response is
// discarded before its first byte is relayed, and a request body is sent
// again only from a bounded replay buffer. A Budget shared per upstream
// keeps retries to a share of the live requests so that an outage does
// not multiply the load. A Breaker shared per upstream bounds in-flight
// requests (and optionally connections), queues a bounded number more, and
// sheds the rest at once with 503 and X-Gatehouse-Overloaded: true.
package proxy

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// Options configures one route's proxy handler.
type Options struct {
	// Route is the route's name, for logs.
	Route string
	// Pool is the upstream; the target is always chosen from it, never
	// from the request's Host or an absolute-form request target.
	Pool *balancer.Pool
	// Transport reaches the pool's targets; share one per upstream (see
	// NewTransport). nil uses a package default.
	Transport http.RoundTripper
	// Timeout bounds the whole exchange with the upstream, response body
	// included (but not an established upgrade tunnel); 0 means none.
	Timeout time.Duration
	// Logger receives one record per failed attempt; nil means slog.Default.
	Logger *slog.Logger
	// OnUpstreamError, if set, is called once per attempt that failed
	// through the upstream's fault (not the client's), with the target's
	// host:port.
	OnUpstreamError func(target string)
	// OnAttempt, if set, learns the outcome of every attempt the client
	// did not cut short: failed is a connect error, reset, timeout or 5xx.
	// Outlier detection listens here.
	OnAttempt func(t *balancer.Target, failed bool)
	// Retry says which failed attempts are tried again on another target;
	// nil keeps the default (see RetryPolicy). Validate it first: New
	// ignores conditions it does not know, with a warning.
	Retry *RetryPolicy
	// Breaker is the upstream's circuit breaker, shared by its routes; nil
	// means none.
	Breaker *Breaker
	// OnRetry, if set, is called once per retry made.
	OnRetry func()
	// OnBudgetExhausted, if set, is called when a retry is not made because
	// the policy's Budget has none left.
	OnBudgetExhausted func()
	// OnOverflow, if set, is called when the Breaker refuses a request.
	OnOverflow func()
	// TargetHeaders edits the request headers sent to some targets (see
	// TargetHeaders); nil edits none.
	TargetHeaders TargetHeaders
}

// New returns the handler that proxies a route's requests as o describes.
func New(o Options) http.Handler {
	h := &handler{
		route:           o.Route,
		pool:            o.Pool,
		transport:       o.Transport,
		timeout:         o.Timeout,
		log:             o.Logger,
		onUpstreamError: o.OnUpstreamError,
		onAttempt:       o.OnAttempt,
		breaker:         o.Breaker,
		onRetry:         o.OnRetry,
		onBudgetOut:     o.OnBudgetExhausted,
		onOverflow:      o.OnOverflow,
		targetHeaders:   o.TargetHeaders,
	}
	if h.transport == nil {
		h.transport = defaultTransport()
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	var unknown []string
	h.retry, unknown = compileRetry(o.Retry)
	if len(unknown) > 0 {
		h.log.Warn("proxy: ignoring unknown retry conditions", slog.String("route", o.Route), slog.Any("conditions", unknown))
	}
	return h
}

type handler struct {
	route           string
	pool            *balancer.Pool
	transport       http.RoundTripper
	timeout         time.Duration
	log             *slog.Logger
	onUpstreamError func(string)
	onAttempt       func(*balancer.Target, bool)
	retry           *retryPolicy // never nil
	breaker         *Breaker
	onRetry         func()
	onBudgetOut     func()
	onOverflow      func()
	targetHeaders   TargetHeaders
}

// exchange is everything the proxy needs per request beyond what net/http
// allocates, in a single allocation.
type exchange struct {
	out http.Request
	// header is the outgoing header before any target's edit (see
	// TargetHeaders); th the handler's edits.
	header  http.Header
	th      TargetHeaders
	url     url.URL
	body    requestBody
	interim interim
	tries   attempts
	// vals backs the header values the proxy sets, so setting one does not
	// allocate a one-element slice; one slot per header.
	vals [numSlots]string
}

// Slots of exchange.vals.
const (
	slotXFF = iota
	slotXFProto
	slotXFHost
	slotRequestID
	slotTE
	slotConnection
	slotUpgrade
	numSlots
)

// setHeader sets h[key] to the single value v, stored in slot i of ex.vals.
// The slice's capacity is 1, so an append elsewhere copies, never aliases.
func (ex *exchange) setHeader(h http.Header, i int, key, v string) {
	ex.vals[i] = v
	h[key] = ex.vals[i : i+1 : i+1]
}

// ServeHTTP forwards r to a target of the pool and streams the response:
// admit → bound (route timeout, circuit breaker) → pick → prepare →
// attempts → respond.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	info := reqinfo.FromContext(r.Context())
	if !h.admit(w, r) {
		return
	}
	ctx := r.Context()
	if h.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout)
		defer cancel()
	}
	if h.breaker != nil {
		// Before picking a target: a request that waits for a slot should
		// be sent where the balancer says once it has one.
		if h.breaker.acquire(ctx) != nil {
			h.overloaded(w, r, info)
			return
		}
		defer h.breaker.release()
	}
	t := h.pick(w, r, info)
	if t == nil {
		return
	}
	ex := new(exchange)
	ex.th = h.targetHeaders
	a := &ex.tries
	a.h, a.w, a.r, a.info, a.t, a.ex = h, w, r, info, t, ex
	if b := h.retry.budget; b != nil {
		b.begin()
		defer b.end(&a.retrying)
	}
	if a.ex.interim.init(w, r) {
		ctx = httptrace.WithClientTrace(ctx, &a.ex.interim.trace)
	}
	a.ctx = ctx
	upType, ok := a.ex.prepare(ctx, r, info, t)
	if !ok {
		problem.Write(w, r, http.StatusBadRequest, "invalid Upgrade header")
		return
	}
	a.out = &a.ex.out
	a.keepBody()
	defer a.close()
	res, latency := a.run()
	if res == nil {
		return // answered
	}
	if info != nil {
		info.UpstreamError = ""
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		h.switchProtocols(w, r, info, a.t, res, latency, upType)
		return
	}
	h.respond(w, r, info, a.t, res, latency)
}

// admit refuses what a reverse proxy never forwards (CONNECT) and marks a
// chunked HTTP/1 request's connection for closing.
func (h *handler) admit(w http.ResponseWriter, r *http.Request) bool {
	if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
		// See "Request smuggling" in the package documentation.
		w.Header().Set("Connection", "close")
	}
	if r.Method == http.MethodConnect {
		// A reverse proxy has no business opening tunnels to arbitrary
		// authorities; HTTP/2 extended CONNECT is not supported yet.
		problem.Write(w, r, http.StatusMethodNotAllowed, "CONNECT is not proxied")
		return false
	}
	return true
}

// pick chooses the first attempt's target, answering 503 when the pool
// has none available.
func (h *handler) pick(w http.ResponseWriter, r *http.Request, info *reqinfo.Info) *balancer.Target {
	var t *balancer.Target
	if h.pool != nil {
		t = h.pool.Pick(r, nil)
	}
	if t == nil {
		if info != nil {
			info.UpstreamError = "no available target"
		}
		problem.Write(w, r, http.StatusServiceUnavailable, "no upstream server is available")
	}
	return t
}

// answerCanceled answers a request whose context ended between attempts:
// nothing if the client left, 504 if the route timeout expired.
func answerCanceled(w http.ResponseWriter, r *http.Request) {
	if r.Context().Err() != nil {
		return
	}
	answer(w, r, upstreamTimeout)
}

// statusError is the error reported for a response that is retried.
type statusError int

func (e statusError) Error() string { return "upstream answered " + statusText(int(e)) }

func statusText(code int) string { return strconv.Itoa(code) }

// finish ends an attempt on t: the in-flight count drops and the balancer
// learns its latency and outcome. An attempt the client cut short (or
// whose body the client broke) says nothing about the target, so it is
// not observed.
func (h *handler) finish(t *balancer.Target, latency time.Duration, f failure, status int) {
	if f != clientGone && f != clientBody {
		failed := f != succeeded || status >= 500
		t.Observe(latency, f != succeeded)
		if h.onAttempt != nil {
			h.onAttempt(t, failed)
		}
	}
	t.End()
}

// prepare turns r into the outgoing request ex.out for target t, editing
// r's header in place. It returns the protocol the client asks to upgrade
// to ("" if none), and false if that request is malformed.
func (ex *exchange) prepare(ctx context.Context, r *http.Request, info *reqinfo.Info, t *balancer.Target) (upType string, ok bool) {
	h := r.Header
	if h == nil {
		h = make(http.Header)
	}
	// Upgrades exist in HTTP/1.1 only. h2c is an upgrade of this hop
	// (and a classic smuggling vector): it is never forwarded.
	if r.ProtoMajor == 1 && r.ProtoMinor == 1 {
		if upType = upgradeType(h); strings.EqualFold(upType, "h2c") {
			upType = ""
		} else if upType != "" && !validUpgradeToken(upType) {
			return "", false
		}
	}
	teTrailers := hasToken(h["Te"], "trailers")
	h1wire.RemoveHopByHop(h)
	// Headers the proxy owns are set only after stripping.
	if teTrailers {
		// gRPC needs it, and it tells any upstream trailers get through.
		ex.setHeader(h, slotTE, "Te", "trailers")
	}
	if upType != "" {
		ex.setHeader(h, slotConnection, "Connection", "Upgrade")
		ex.setHeader(h, slotUpgrade, "Upgrade", upType)
	}
	var path, id string
	trusted := false
	if info != nil {
		path, id, trusted = info.Path, info.RequestID, info.PeerTrusted
	}
	if path == "" {
		path = r.URL.EscapedPath()
	}
	ex.setForwarded(h, r, trusted, id)
	if _, ok := h["User-Agent"]; !ok {
		// Absent stays absent (RFC 9110 §10.1.5 wants a product token, so
		// an empty field would be wrong). A nil value, not "", keeps
		// net/http's HTTP/1 and HTTP/2 transports from adding their own
		// ("Go-http-client/1.1") and is written as nothing by h1client.
		h["User-Agent"] = nil
	}

	ex.out = *r.WithContext(ctx)
	out := &ex.out
	// Opaque carries the normalised, already escaped path to the wire
	// verbatim (RequestURI returns it as is): no unescaping into Path and
	// re-escaping, so the upstream sees exactly what the router matched.
	// A normalised path never starts with "//", the one case where
	// Opaque would be read as an authority.
	ex.url = url.URL{Scheme: t.URL.Scheme, Host: t.URL.Host, Opaque: path, RawQuery: r.URL.RawQuery}
	out.URL = &ex.url
	ex.header = h
	out.Header = ex.th.targetHeader(h, t)
	out.RequestURI = ""
	out.Close = false
	out.GetBody = nil
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		// nil, not NoBody: lets net/http replay the request when a pooled
		// connection turns out to be dead.
		out.Body, out.ContentLength = nil, 0
	} else {
		ex.body.body = r.Body
		out.Body = &ex.body
	}
	return upType, true
}

// retarget returns a fresh copy of the outgoing request aimed at t with
// body, for a retry; the transport may still hold the previous one.
func (ex *exchange) retarget(t *balancer.Target, body *attemptBody) *http.Request {
	u := ex.url
	u.Scheme, u.Host = t.URL.Scheme, t.URL.Host
	out := new(http.Request)
	*out = ex.out
	out.URL = &u
	if ex.th != nil {
		out.Header = ex.th.targetHeader(ex.header, t)
	}
	if body != nil {
		out.Body = body
	}
	return out
}

// respond relays a final response: headers, body (streamed, flushed per
// write when its length is unknown or it is an event stream) and trailers.
// Once the header is sent an upstream failure can only abort the client's
// connection, so the client sees a truncated response, not a clean one.
func (h *handler) respond(w http.ResponseWriter, r *http.Request, info *reqinfo.Info, t *balancer.Target, res *http.Response, latency time.Duration) {
	h1wire.RemoveHopByHop(res.Header)
	dst := w.Header()
	copyResponseHeader(dst, res.Header)
	if h.pool != nil {
		if c := h.pool.Pin(r, t); c != "" {
			dst["Set-Cookie"] = append(dst["Set-Cookie"], c)
		}
	}
	announced := len(res.Trailer)
	announceTrailers(dst, res.Trailer)
	var fl http.Flusher
	if res.ContentLength < 0 || isEventStream(res.Header) {
		fl = flusherOf(w)
	}
	w.WriteHeader(res.StatusCode)
	if fl != nil {
		// Streams (SSE, long polls, gRPC) may wait long before the first
		// byte; the client should see the headers now.
		fl.Flush()
	}
	rerr, werr := copyBody(w, res.Body, fl)
	if rerr != nil || werr != nil {
		res.Body.Close()
		if werr != nil || r.Context().Err() != nil {
			if werr == nil {
				werr = rerr
			}
			h.finish(t, latency, clientGone, res.StatusCode)
			h.report(r, info, t, clientGone, werr)
			return
		}
		f := classify(rerr, r, nil)
		h.finish(t, latency, f, res.StatusCode)
		h.report(r, info, t, f, rerr)
		panic(http.ErrAbortHandler)
	}
	res.Body.Close() // fills res.Trailer
	h.finish(t, latency, succeeded, res.StatusCode)
	if len(res.Trailer) > 0 {
		copyTrailers(dst, res.Trailer, announced)
	}
}
