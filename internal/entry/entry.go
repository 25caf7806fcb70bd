// Package entry is where every request of a listener starts: it resolves
// the client (trusted proxies), names the request (X-Request-Id),
// normalises the path, matches a route and runs the route's chain, then
// counts the request and writes its access-log line.
//
// An Entry outlives configuration snapshots: a reload stores the
// listener's new State and the next request uses it, while requests in
// flight finish with the State they started with. One atomic load per
// request is the whole cost of hitless reloads.
package entry

import (
	"errors"
	"log/slog"
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

// Route is what the router returns on a match: the route's name, its
// whole chain (policies, filters, action) and its metric children.
type Route struct {
	Name    string
	Handler http.Handler
	Metrics *observe.RouteMetrics
}

// State is one listener's view of a configuration snapshot.
type State struct {
	Router   *router.Router[*Route]
	Trusted  listener.TrustedProxies
	NoRoute  *observe.RouteMetrics // unmatched requests
	BadInput *observe.RouteMetrics // malformed paths
	Log      *observe.AccessLog    // nil when the access log is off
	InFlight interface {
		Inc()
		Dec()
	}
}

// Entry is the http.Handler of one listener.
type Entry struct {
	log   *slog.Logger
	state atomic.Pointer[State]
}

// New returns an entry that serves nothing until its first Store.
func New(log *slog.Logger) *Entry { return &Entry{log: log} }

// Store makes s the state the next request uses.
func (e *Entry) Store(s *State) { e.state.Store(s) }

// exchange bundles the per-request allocations into one.
type exchange struct {
	info reqinfo.Info
	sw   respwriter.Writer
}

// ServeHTTP is the request path: resolve the client, name the request,
// normalise the path, match a route and run its chain. It allocates the
// exchange, the request's context and little else.
func (e *Entry) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.serve(w, r, nil) }

// Sub is the entry for in-process sub-requests (a composition's
// route-relative steps): the client and the request id are those of the
// reqinfo.Info in the sub-request's context, the step's. Only this
// handler looks for one, so the front door pays nothing for it.
func (e *Entry) Sub() http.Handler { return sub{e} }

type sub struct{ e *Entry }

func (s sub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.e.serve(w, r, reqinfo.FromContext(r.Context()))
}

// serve is ServeHTTP; parent, when set, supplies the client and the
// request id.
func (e *Entry) serve(w http.ResponseWriter, r *http.Request, parent *reqinfo.Info) {
	ls := e.state.Load()
	x := &exchange{}
	info := &x.info
	info.Start = time.Now()
	switch {
	case parent != nil && parent.RequestID != "":
		info.ClientIP, info.PeerTrusted, info.RequestID = parent.ClientIP, parent.PeerTrusted, parent.RequestID
	default:
		info.ClientIP, info.PeerTrusted = ls.Trusted.ClientIP(r)
		if id := r.Header.Get("X-Request-Id"); info.PeerTrusted && validRequestID(id) {
			info.RequestID = id
		} else {
			info.RequestID = newRequestID()
		}
	}
	w.Header()["X-Request-Id"] = []string{info.RequestID}
	x.sw.ResponseWriter = w
	sw := &x.sw

	ls.InFlight.Inc()
	rm := e.handle(ls, sw, r, info)
	ls.InFlight.Dec()

	if sw.Status == 0 {
		sw.Status = http.StatusOK
	}
	d := time.Since(info.Start)
	rm.Observe(r.Method, sw.Status, d)
	ls.logRequest(r, info, sw, d, info.UpstreamError)
}

// logRequest writes the access log line, when the log is on.
func (ls *State) logRequest(r *http.Request, info *reqinfo.Info, sw *respwriter.Writer, d time.Duration, errText string) {
	if ls.Log == nil {
		return
	}
	ls.Log.Log(&observe.Entry{
		Route: info.Route, Method: r.Method, Host: r.Host, Path: info.Path, Proto: r.Proto,
		Status: sw.Status, Bytes: sw.Bytes, Duration: d, ClientIP: clientIPString(info),
		Target: info.Target, Attempts: info.Attempts, RequestID: info.RequestID, Error: errText,
		Consumer: info.Identity.Name(), Compose: info.Compose,
	})
}

func clientIPString(info *reqinfo.Info) string {
	if !info.ClientIP.IsValid() {
		return ""
	}
	return info.ClientIP.String()
}

// handle matches and runs the route, returning the metrics to count in.
func (e *Entry) handle(ls *State, sw *respwriter.Writer, r *http.Request, info *reqinfo.Info) (rm *observe.RouteMetrics) {
	path, err := router.Normalize(r.URL.EscapedPath())
	if err != nil {
		info.Path = r.URL.EscapedPath()
		detail := "the request path is malformed"
		if errors.Is(err, router.ErrEncodedSeparator) {
			detail = "encoded '/', '\\' or NUL in the path is not allowed"
		}
		problem.Write(sw, r, http.StatusBadRequest, detail)
		return ls.BadInput
	}
	info.Path = path
	rt, ok := ls.Router.Match(r.Host, r.Method, path, r.Header, r.URL.RawQuery, &info.Params)
	if !ok {
		problem.Write(sw, r, http.StatusNotFound, "no route matches this request")
		return ls.NoRoute
	}
	info.Route = rt.Name
	// A panic in a handler would otherwise skip metrics and the access log;
	// http.ErrAbortHandler (a deliberate abort) is passed on after counting.
	defer func() {
		if v := recover(); v != nil {
			if sw.Status == 0 {
				sw.Status = http.StatusBadGateway
			}
			if v != http.ErrAbortHandler {
				e.log.Error("handler panic", "route", rt.Name, "panic", v, "request_id", info.RequestID)
			}
			ls.finishAborted(rt.Metrics, sw, r, info)
			panic(http.ErrAbortHandler)
		}
	}()
	rt.Handler.ServeHTTP(sw, r.WithContext(reqinfo.NewContext(r.Context(), info)))
	return rt.Metrics
}

// finishAborted counts and logs a request whose handler aborted, since the
// abort unwinds past ServeHTTP's own accounting.
func (ls *State) finishAborted(rm *observe.RouteMetrics, sw *respwriter.Writer, r *http.Request, info *reqinfo.Info) {
	ls.InFlight.Dec()
	d := time.Since(info.Start)
	rm.Observe(r.Method, sw.Status, d)
	errText := info.UpstreamError
	if errText == "" {
		errText = "response aborted"
	}
	ls.logRequest(r, info, sw, d, errText)
}
