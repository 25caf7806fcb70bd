package h1server

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/h1wire"
	"github.com/gatehouse/gatehouse/internal/h1wire/h1difftest"
)

// diffMaxHead is the server's default head limit (MaxHeaderBytes 1 MiB
// plus net/http's 4 KiB slack), so size limits never differ.
const diffMaxHead = http.DefaultMaxHeaderBytes + 4096

// reqOutcome is everything a request parser decides that the next hop or
// the next request on the connection depends on.
type reqOutcome struct {
	method, target string
	minor          int
	url            url.URL
	host           string
	header         http.Header
	close          bool
	chunked        bool
	contentLength  int64 // -1 when chunked, as in http.Request
	body           []byte
	trailer        http.Header
	rest           []byte // what is left for the next request: pipelining desync shows here
}

// gatehouseRequest reads one request as the server does (readHead,
// parseHead, parseTarget, then the request body type) and the body to its
// end.
func gatehouseRequest(in []byte) (*reqOutcome, error) {
	r := bytes.NewReader(in)
	br := bufio.NewReaderSize(r, readBufSize)
	head, err := readHead(br, nil, diffMaxHead)
	if err != nil {
		return nil, err
	}
	var ph parsedHead
	var vals [16]string
	if _, err := parseHead(head, nil, vals[:], &ph); err != nil {
		return nil, err
	}
	var u url.URL
	pu, err := parseTarget(ph.method, ph.target, &u)
	if err != nil {
		return nil, err
	}
	o := &reqOutcome{method: ph.method, target: ph.target, minor: ph.minor, url: *pu, host: ph.host,
		header: ph.header, close: ph.closeConn, chunked: ph.chunked, contentLength: ph.contentLength}
	if pu.Host != "" {
		o.host = pu.Host
	}
	b := &body{br: br}
	trailer := ph.trailer
	switch {
	case ph.chunked:
		o.contentLength = -1
		b.mode = bodyChunked
		b.cr = chunkedReader{h1wire.ChunkedReader{BR: br, Trailer: &trailer, MaxTrailer: diffMaxHead, RejectFramingTrailers: true}}
	case ph.contentLength > 0:
		b.mode = bodyLength
		b.remaining = ph.contentLength
	default:
		o.contentLength = 0
	}
	if b.mode != 0 {
		if o.body, err = io.ReadAll(b); err != nil {
			return nil, err
		}
	}
	o.trailer = h1difftest.NonEmpty(trailer)
	buffered, _ := br.Peek(br.Buffered())
	o.rest = append(buffered, in[len(in)-r.Len():]...)
	return o, nil
}

// netHTTPRequest reads one request as a net/http server does:
// http.ReadRequest, then the checks net/http's conn.readRequest and
// conn.serve apply before calling a handler (version, Host, field
// validity, Expect), then the body to its end.
//
// Normalisation: leading empty lines are removed first. RFC 9112 section
// 2.2 says a server SHOULD ignore at least one empty line before the
// request-line; Gatehouse ignores any number, net/http only after a POST.
func netHTTPRequest(in []byte) (*reqOutcome, error) {
	for {
		if bytes.HasPrefix(in, []byte("\r\n")) {
			in = in[2:]
		} else if bytes.HasPrefix(in, []byte("\n")) {
			in = in[1:]
		} else {
			break
		}
	}
	r := bytes.NewReader(in)
	br := bufio.NewReaderSize(r, readBufSize)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, err
	}
	if req.ProtoMajor != 1 {
		return nil, errVersion // http1ServerSupportsRequest (h2 preface aside)
	}
	// http.ReadRequest drops the Host field the server checks next; read
	// it back from the head.
	hosts := h1difftest.Scan(in).Values("Host")
	if req.ProtoAtLeast(1, 1) && len(hosts) == 0 && req.Method != http.MethodConnect {
		return nil, errMissingHost
	}
	if len(hosts) == 1 && !validHost(hosts[0]) { // hostTable is httpguts.ValidHostHeader's set
		return nil, errBadHost
	}
	for k, vv := range req.Header {
		if !h1difftest.IsToken(k) {
			return nil, errHeaderLine
		}
		for _, v := range vv {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
					return nil, errHeaderValue
				}
			}
		}
	}
	if ev := req.Header.Get("Expect"); ev != "" && !hasTokenStd(ev, "100-continue") {
		return nil, errExpectation // conn.serve: 417
	}
	delete(req.Header, "Expect") // Gatehouse's server consumes it (it answers 100 Continue itself)
	o := &reqOutcome{method: req.Method, target: req.RequestURI, minor: req.ProtoMinor, url: *req.URL, host: req.Host,
		header: req.Header, close: req.Close, chunked: len(req.TransferEncoding) > 0, contentLength: req.ContentLength}
	if o.body, err = io.ReadAll(io.LimitReader(req.Body, int64(len(in))+1)); err != nil {
		return nil, err
	}
	if len(o.body) == 0 {
		o.body = nil
	}
	o.trailer = h1difftest.NonEmpty(req.Trailer)
	buffered, _ := br.Peek(br.Buffered())
	o.rest = append(buffered, in[len(in)-r.Len():]...)
	return o, nil
}

// hasTokenStd is net/http's hasToken, which its server uses for Expect:
// token found case-insensitively between SP, HTAB or comma boundaries.
func hasTokenStd(v, token string) bool {
	boundary := func(b byte) bool { return b == ' ' || b == ',' || b == '\t' }
	for sp := 0; sp+len(token) <= len(v); sp++ {
		if sp > 0 && !boundary(v[sp-1]) {
			continue
		}
		if end := sp + len(token); end != len(v) && !boundary(v[end]) {
			continue
		}
		if strings.EqualFold(v[sp:sp+len(token)], token) {
			return true
		}
	}
	return false
}

// diffRequest compares the two parsers on in. It returns the name of the
// rule that excuses an accept/refuse disagreement, and a description of
// any disagreement no rule excuses ("" when they agree).
func diffRequest(in []byte) (rule, diff string) {
	g, gerr := gatehouseRequest(bytes.Clone(in))
	s, serr := netHTTPRequest(bytes.Clone(in))
	switch {
	case gerr != nil && serr != nil:
		return "", ""
	case gerr != nil:
		if rule := h1difftest.Match(requestStricter, scanRequest(in)); rule != "" {
			return rule, ""
		}
		return "", "Gatehouse refuses (" + gerr.Error() + "), net/http accepts"
	case serr != nil:
		if rule := h1difftest.Match(requestLaxer, scanRequest(in)); rule != "" {
			return rule, ""
		}
		return "", "Gatehouse accepts, net/http refuses (" + serr.Error() + ")"
	}
	var d h1difftest.Diff
	check := d.Check
	check("method", g.method, s.method)
	check("target", g.target, s.target)
	check("minor", g.minor, s.minor)
	check("url", g.url, s.url)
	check("host", g.host, s.host)
	check("header", g.header, s.header)
	check("close", g.close, s.close)
	check("chunked", g.chunked, s.chunked)
	check("content-length", g.contentLength, s.contentLength)
	check("body", string(g.body), string(s.body))
	check("trailer", g.trailer, s.trailer)
	check("rest", string(g.rest), string(s.rest))
	return "", d.String()
}

// FuzzDiffRequest feeds the same bytes to Gatehouse's request parser and to
// net/http's and fails when they disagree on accept/refuse, request line,
// fields, body framing, body bytes, trailers, or the bytes left for the
// next request — unless a rule in requestStricter or requestLaxer names the
// difference. Seeds: testdata/fuzz/FuzzDiffRequest (smuggling shapes) and
// requestSeeds.
func FuzzDiffRequest(f *testing.F) {
	for _, s := range requestSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if _, d := diffRequest(in); d != "" {
			t.Fatalf("input %q\n%s", in, d)
		}
	})
}

// TestDiffRequestRulesUsed checks that the seed corpus exercises every
// deliberate difference: a rule no input needs is a hole in the
// differential check, or a difference that no longer exists.
func TestDiffRequestRulesUsed(t *testing.T) {
	corpus, err := h1difftest.ReadCorpus("testdata/fuzz/FuzzDiffRequest")
	if err != nil {
		t.Fatal(err)
	}
	used := make(map[string]bool)
	for _, vals := range corpus {
		rule, diff := diffRequest(vals[0].([]byte))
		if diff != "" {
			t.Errorf("%q: %s", vals[0], diff)
		}
		used[rule] = true
	}
	for _, r := range append(requestStricter, requestLaxer...) {
		if !used[r.Name] {
			t.Errorf("rule %q is not exercised by any seed in testdata/fuzz/FuzzDiffRequest", r.Name)
		}
	}
}
