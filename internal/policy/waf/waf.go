package waf

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"

	"github.com/corazawaf/coraza/v3/types"
	"github.com/gatehouse/gatehouse/internal/problem"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
)

// WAF inspects requests with the Core Rule Set. It is safe for concurrent
// use; one WAF serves every request of the routes configured with it.
type WAF struct {
	eng    *engine
	detect bool
	log    *slog.Logger
}

// New validates cfg and returns a WAF. The CRS is loaded once per distinct
// rule configuration and shared (see the package documentation), so the
// first New for a configuration takes about 120 ms and later ones are cheap.
// Invalid settings or directives are reported as errors.
func New(cfg Config) (*WAF, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	eng, err := loadEngine(cfg.directives())
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &WAF{
		eng:    eng,
		detect: cfg.Mode == ModeDetect,
		log:    log,
	}, nil
}

// Wrap returns next guarded by the WAF.
func (w *WAF) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.serve(rw, r, next)
	})
}

func (w *WAF) serve(rw http.ResponseWriter, r *http.Request, next http.Handler) {
	tx := w.eng.waf.NewTransaction()
	var body *replayBody
	defer func() {
		// Cut the replayed body off the transaction's buffer before the
		// transaction returns to Coraza's pool: a handler that leaked the
		// body to a goroutine must not read another request's bytes.
		if body != nil {
			body.detach()
		}
		tx.ProcessLogging()
		tx.Close()
	}()
	// Extra Directives may switch the engine off.
	if tx.IsRuleEngineOff() {
		next.ServeHTTP(rw, r)
		return
	}

	it, body, err := w.processRequest(tx, r)
	if body != nil {
		r.Body = body
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			problem.Write(rw, r, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		problem.Write(rw, r, http.StatusBadRequest, "could not read the request body")
		return
	}
	if it != nil && w.interrupted(rw, r, tx, it) {
		return
	}
	next.ServeHTTP(rw, r)
}

// processRequest feeds the request to tx through phase 2. body, when not
// nil, replays the bytes Coraza consumed and must replace r.Body, even on
// an interruption in detect mode or an error.
func (w *WAF) processRequest(tx types.Transaction, r *http.Request) (*types.Interruption, *replayBody, error) {
	client, port := clientAddr(r)
	tx.ProcessConnection(client, port, "", 0)
	// The raw request target, not the normalised path: path cleaning by the
	// gateway would hide traversal attempts from the rules.
	tx.ProcessURI(requestURI(r), r.Method, r.Proto)
	for k, vs := range r.Header {
		for _, v := range vs {
			tx.AddRequestHeader(k, v)
		}
	}
	// net/http moves Host and Transfer-Encoding out of the header map; the
	// rules need them (e.g. CRS 920171 on smuggling attempts).
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(r.Host)
	}
	// Requests built in-process (and some front ends) carry the length
	// only in the field; without it CRS flags a POST with no length (920180).
	if r.ContentLength > 0 && r.Header["Content-Length"] == nil {
		tx.AddRequestHeader("Content-Length", strconv.FormatInt(r.ContentLength, 10))
	}
	for _, te := range r.TransferEncoding {
		tx.AddRequestHeader("Transfer-Encoding", te)
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		return it, nil, nil
	}
	var body *replayBody
	if tx.IsRequestBodyAccessible() && r.Body != nil && r.Body != http.NoBody {
		// Coraza reads at most RequestBodyLimit bytes (io.CopyN).
		it, _, err := tx.ReadRequestBodyFrom(r.Body)
		prefix, perr := tx.RequestBodyReader()
		if perr != nil {
			return nil, nil, perr
		}
		body = &replayBody{prefix: prefix, rest: r.Body}
		if err != nil {
			return nil, body, err
		}
		if it != nil {
			return it, body, nil
		}
	}
	it, err := tx.ProcessRequestBody()
	return it, body, err
}

// requestURI is the request target as the client sent it when known.
func requestURI(r *http.Request) string {
	if r.RequestURI != "" {
		return r.RequestURI
	}
	return r.URL.RequestURI()
}

// clientAddr is the client as resolved through trusted proxies by the
// listener, else the direct peer.
func clientAddr(r *http.Request) (string, int) {
	if info := reqinfo.FromContext(r.Context()); info != nil && info.ClientIP.IsValid() {
		return info.ClientIP.String(), 0
	}
	host, port, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

// interrupted handles an interruption: it logs it and, in block mode,
// answers the request and reports true.
func (w *WAF) interrupted(rw http.ResponseWriter, r *http.Request, tx types.Transaction, it *types.Interruption) bool {
	if w.detect {
		w.audit(r, tx, it, "waf detected", 0)
		return false
	}
	status := http.StatusForbidden
	if it.Status >= 400 && it.Status <= 599 {
		status = it.Status // e.g. 400 from the "failed to parse body" rule
	}
	if it.Action == "redirect" && it.Data != "" {
		if it.Status >= 300 && it.Status <= 399 {
			status = it.Status
		} else {
			status = http.StatusFound
		}
		w.audit(r, tx, it, "waf blocked", status)
		http.Redirect(rw, r, it.Data, status)
		return true
	}
	if it.Action == "drop" {
		rw.Header().Set("Connection", "close")
	}
	w.audit(r, tx, it, "waf blocked", status)
	d := problem.Details{Status: status, Detail: "request rejected by the web application firewall"}
	if info := reqinfo.FromContext(r.Context()); info != nil {
		d.RequestID = info.RequestID
	}
	problem.WriteDetails(rw, r, d)
	return true
}
