package gateway

import (
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/internal/listener"
	"github.com/gatehouse/gatehouse/internal/observe"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/respwriter"
	"github.com/gatehouse/gatehouse/internal/router"
)

// entry is the http.Handler of one listener. It outlives snapshots: a
// reload stores the listener's new state and the next request uses it,
// while requests in flight finish with the state they started with.
type entry struct {
	name  string
	gw    *Gateway
	state atomic.Pointer[listenerState]
}

// listenerState is one listener's view of a snapshot.
type listenerState struct {
	router   *router.Router[*route]
	trusted  listener.TrustedProxies
	noRoute  *observe.RouteMetrics
	badInput *observe.RouteMetrics
	log      *observe.AccessLog // nil when the access log is off
	inFlight interface {
		Inc()
		Dec()
	}
}

// exchange bundles the per-request allocations into one.
type exchange struct {
	info reqinfo.Info
	sw   respwriter.Writer
}

// ServeHTTP is the request path: resolve the client, name the request,
// normalise the path, match a route and run its chain. It allocates the
// exchange, the request's context and little else.
func (e *entry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ls := e.state.Load()
	x := &exchange{}
	info := &x.info
	info.Start = time.Now()
	info.ClientIP, info.PeerTrusted = ls.trusted.ClientIP(r)
	if id := r.Header.Get("X-Request-Id"); info.PeerTrusted && validRequestID(id) {
		info.RequestID = id
	} else {
		info.RequestID = newRequestID()
	}
	w.Header()["X-Request-Id"] = []string{info.RequestID}
	x.sw.ResponseWriter = w
	sw := &x.sw

	ls.inFlight.Inc()
	rm := e.handle(ls, sw, r, info)
	ls.inFlight.Dec()

	if sw.Status == 0 {
		sw.Status = http.StatusOK
	}
	d := time.Since(info.Start)
	rm.Observe(r.Method, sw.Status, d)
	ls.logRequest(r, info, sw, d, info.UpstreamError)
}

// logRequest writes the access log line, when the log is on.
func (ls *listenerState) logRequest(r *http.Request, info *reqinfo.Info, sw *respwriter.Writer, d time.Duration, errText string) {
	if ls.log == nil {
		return
	}
	ls.log.Log(&observe.Entry{
		Route: info.Route, Method: r.Method, Host: r.Host, Path: info.Path, Proto: r.Proto,
		Status: sw.Status, Bytes: sw.Bytes, Duration: d, ClientIP: clientIPString(info),
		Target: info.Target, Attempts: info.Attempts, RequestID: info.RequestID, Error: errText,
		Consumer: info.Identity.Name(),
	})
}

func clientIPString(info *reqinfo.Info) string {
	if !info.ClientIP.IsValid() {
		return ""
	}
	return info.ClientIP.String()
}

// handle matches and runs the route, returning the metrics to count in.
func (e *entry) handle(ls *listenerState, sw *respwriter.Writer, r *http.Request, info *reqinfo.Info) (rm *observe.RouteMetrics) {
	path, err := router.Normalize(r.URL.EscapedPath())
	if err != nil {
		info.Path = r.URL.EscapedPath()
		detail := "the request path is malformed"
		if errors.Is(err, router.ErrEncodedSeparator) {
			detail = "encoded '/', '\\' or NUL in the path is not allowed"
		}
		problem.Write(sw, r, http.StatusBadRequest, detail)
		return ls.badInput
	}
	info.Path = path
	rt, ok := ls.router.Match(r.Host, r.Method, path, r.Header, r.URL.RawQuery, &info.Params)
	if !ok {
		problem.Write(sw, r, http.StatusNotFound, "no route matches this request")
		return ls.noRoute
	}
	info.Route = rt.name
	// A panic in a handler would otherwise skip metrics and the access log;
	// http.ErrAbortHandler (a deliberate abort) is passed on after counting.
	defer func() {
		if v := recover(); v != nil {
			if sw.Status == 0 {
				sw.Status = http.StatusBadGateway
			}
			if v != http.ErrAbortHandler {
				e.gw.log.Error("handler panic", "route", rt.name, "panic", v, "request_id", info.RequestID)
			}
			e.gw.finishAborted(ls, rt.metrics, sw, r, info)
			panic(http.ErrAbortHandler)
		}
	}()
	rt.handler.ServeHTTP(sw, r.WithContext(reqinfo.NewContext(r.Context(), info)))
	return rt.metrics
}

// finishAborted counts and logs a request whose handler aborted, since the
// abort unwinds past ServeHTTP's own accounting.
func (g *Gateway) finishAborted(ls *listenerState, rm *observe.RouteMetrics, sw *respwriter.Writer, r *http.Request, info *reqinfo.Info) {
	ls.inFlight.Dec()
	d := time.Since(info.Start)
	rm.Observe(r.Method, sw.Status, d)
	errText := info.UpstreamError
	if errText == "" {
		errText = "response aborted"
	}
	ls.logRequest(r, info, sw, d, errText)
}
