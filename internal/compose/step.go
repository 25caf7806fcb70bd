package compose

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/expr"
	"github.com/gatehouse/gatehouse/internal/reqinfo"
	"github.com/gatehouse/gatehouse/internal/router"
)

// StepError is why one call failed; its text names no internals beyond
// the status or the kind of failure, since it reaches the client.
type StepError struct{ Msg string }

func (e *StepError) Error() string { return e.Msg }

func stepErr(format string, args ...any) error { return &StepError{fmt.Sprintf(format, args...)} }

// call makes one call of s with vars and returns its decoded, shaped
// result.
func (x *run) call(ctx context.Context, s *Step, vars *expr.Vars) (result any, err error) {
	if s.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.Timeout)
		defer cancel()
	}
	req, err := x.newRequest(ctx, s, vars)
	if err != nil {
		return nil, err
	}
	bw := &bufWriter{max: x.c.maxBody}
	func() {
		// The proxy aborts a response whose body breaks mid-way with
		// panic(http.ErrAbortHandler); here that is a step error, never
		// the client's connection.
		defer func() {
			if v := recover(); v != nil {
				bw.aborted = true
			}
		}()
		s.Send.ServeHTTP(bw, req)
	}()
	if err := ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, stepErr("timed out")
		}
		return nil, stepErr("cancelled")
	}
	switch {
	case bw.over:
		return nil, stepErr("response body over %d bytes", x.c.maxBody)
	case bw.aborted:
		return nil, stepErr("response broke off")
	case bw.status == 0:
		return nil, stepErr("no response")
	case bw.status < 200 || bw.status > 299:
		return nil, stepErr("status %d", bw.status)
	}
	v, err := decodeJSON(bw)
	if err != nil {
		return nil, err
	}
	if s.Shape != nil {
		if v, err = s.Shape(v); err != nil {
			return nil, stepErr("shaping the response: %v", err)
		}
	}
	return v, nil
}

// newRequest builds the call's request: method, URL and headers from
// templates, a JSON body, and a fresh reqinfo.Info with the client's
// identity and request id.
func (x *run) newRequest(ctx context.Context, s *Step, vars *expr.Vars) (*http.Request, error) {
	target := "/"
	if s.URL != nil {
		target = s.URL.Render(vars)
	}
	rawPath, rawQuery, _ := strings.Cut(target, "?")
	if strings.ContainsAny(target, "\x00\r\n #") || !strings.HasPrefix(rawPath, "/") {
		return nil, stepErr("url %q is not a path", target)
	}
	path := rawPath
	if !s.Internal {
		// What the proxy forwards must already be a normalised path, as
		// the router would have made it: a variable must not smuggle dot
		// segments ("../admin") or encoded separators past the prefix
		// the configuration wrote.
		if p, err := router.Normalize(rawPath); err != nil || p != rawPath {
			return nil, stepErr("url %q is not a normalised path", target)
		}
	}
	u, err := url.ParseRequestURI(path + queryPart(rawQuery))
	if err != nil {
		return nil, stepErr("url %q is not valid", target)
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	h := make(http.Header, len(s.ForwardHeaders)+len(s.Headers)+3)
	for _, name := range s.ForwardHeaders {
		if vs := x.r.Header.Values(name); len(vs) > 0 {
			h[http.CanonicalHeaderKey(name)] = append([]string(nil), vs...)
		}
	}
	for _, hd := range s.Headers {
		val := hd.Value.Render(vars)
		if strings.ContainsAny(val, "\x00\r\n") {
			return nil, stepErr("header %s has an invalid value", hd.Name)
		}
		h.Set(hd.Name, val)
	}
	if h.Get("Accept") == "" {
		h.Set("Accept", "application/json")
	}
	var body []byte
	if s.Body != nil {
		b, err := json.Marshal(s.Body.Render(vars))
		if err != nil {
			return nil, stepErr("body: %v", err)
		}
		body = b
		h.Set("Content-Type", "application/json")
	}
	info := &reqinfo.Info{Start: time.Now(), Route: x.c.cfg.Route, Path: path}
	if x.info != nil {
		info.ClientIP, info.PeerTrusted, info.RequestID, info.Identity = x.info.ClientIP, x.info.PeerTrusted, x.info.RequestID, x.info.Identity
		if info.RequestID != "" {
			h.Set("X-Request-Id", info.RequestID)
		}
	}
	req := &http.Request{
		Method: method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Host: x.r.Host, RemoteAddr: x.r.RemoteAddr, TLS: x.r.TLS,
		Body: http.NoBody, ContentLength: int64(len(body)), RequestURI: u.RequestURI(),
	}
	if len(body) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	return req.WithContext(reqinfo.NewContext(ctx, info)), nil
}

func queryPart(q string) string {
	if q == "" {
		return ""
	}
	return "?" + q
}

// decodeJSON decodes a buffered answer: an empty body is null; anything
// else must be JSON with a JSON (or no) content type.
func decodeJSON(bw *bufWriter) (any, error) {
	if bw.buf.Len() == 0 {
		return nil, nil
	}
	if ct := bw.header.Get("Content-Type"); ct != "" && !isJSON(ct) {
		return nil, stepErr("response is %s, not JSON", ct)
	}
	d := json.NewDecoder(&bw.buf)
	d.UseNumber() // ids beyond 2^53 keep their digits
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, stepErr("response is not valid JSON")
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, stepErr("response is not valid JSON (data after the value)")
	}
	return v, nil
}

// isJSON accepts application/json and any +json media type.
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "text/json"
}
