package h1client

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"testing"
	"testing/iotest"

	"github.com/gatehouse/gatehouse/internal/h1wire/h1difftest"
)

// diffMaxHeader is large enough that the head limit never decides.
const diffMaxHeader = 1 << 20

// respOutcome is everything a response parser decides that the proxy's
// client or the next response on the connection depends on.
type respOutcome struct {
	status        string
	code, minor   int
	header        http.Header
	close         bool
	chunked       bool
	contentLength int64
	body          []byte
	trailer       http.Header
	rest          []byte // what is left for the next response; after 101, the tunnel's bytes
}

// gatehouseResponse reads the response to a method request as the
// transport does (conn.readResponse and its body). The connection delivers
// one byte per Read, so the bufio.Reader never holds more than the parser
// asked for and what is left unread is exactly the rest.
func gatehouseResponse(tr *Transport, in []byte, method string) (*respOutcome, error) {
	req, _ := http.NewRequest(method, "http://fuzz.invalid/", nil)
	r := bytes.NewReader(in)
	c := newConn(tr.hostPool("fuzz.invalid"), &bytesConn{iotest.OneByteReader(r)})
	resp, err := c.readResponse(req)
	if err != nil {
		return nil, err
	}
	o := &respOutcome{status: resp.Status, code: resp.StatusCode, minor: resp.ProtoMinor, header: resp.Header,
		close: resp.Close, chunked: len(resp.TransferEncoding) > 0, contentLength: resp.ContentLength}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		o.rest, err = io.ReadAll(resp.Body)
		return o, err
	}
	o.body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	o.trailer = h1difftest.NonEmpty(resp.Trailer)
	o.rest = in[len(in)-r.Len():]
	return o, nil
}

// netHTTPResponse reads the response with http.ReadResponse, skipping 1xx
// interim responses as a client does (101 aside), at most maxInterim of
// them as Gatehouse's client does, then the body to its end.
func netHTTPResponse(in []byte, method string) (*respOutcome, error) {
	req, _ := http.NewRequest(method, "http://fuzz.invalid/", nil)
	r := bytes.NewReader(in)
	br := bufio.NewReaderSize(r, readBufferSize)
	var resp *http.Response
	for interim := 0; ; interim++ {
		var err error
		if resp, err = http.ReadResponse(br, req); err != nil {
			return nil, err
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if interim == maxInterim {
			return nil, errTooManyInterim
		}
	}
	o := &respOutcome{status: resp.Status, code: resp.StatusCode, minor: resp.ProtoMinor, header: resp.Header,
		close: resp.Close, chunked: len(resp.TransferEncoding) > 0, contentLength: resp.ContentLength}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(len(in))+1))
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		o.body = body
	}
	o.trailer = h1difftest.NonEmpty(resp.Trailer)
	buffered, _ := br.Peek(br.Buffered())
	o.rest = append(buffered, in[len(in)-r.Len():]...)
	return o, nil
}

// normalise removes the differences in how the two sides report the same
// message:
//   - Transfer-Encoding: net/http moves it out of Header always, Gatehouse
//     only when it reads a chunked body (a HEAD, 204 or 304 response keeps
//     it, for the proxy to pass on); chunked is compared on its own.
//   - Cache-Control: no-cache that net/http synthesises from Pragma
//     (fixPragmaCacheControl) — a proxy must forward what the origin sent.
//   - obs-fold: see h1difftest.CollapseOWS.
//   - chunked and Trailer for responses without a body (HEAD, 1xx, 204,
//     304): the coding is announced, not applied; net/http still moves
//     Trailer out of Header, Gatehouse keeps it for the proxy to pass on.
//   - Content-Length of a 101: the body is the tunnel, not a length.
func (o *respOutcome) normalise(method string, pragmaSynth bool) {
	h := o.header.Clone()
	delete(h, "Transfer-Encoding")
	if pragmaSynth {
		delete(h, "Cache-Control")
	}
	if method == http.MethodHead || o.code < 200 || o.code == 204 || o.code == 304 {
		o.chunked = false
		delete(h, "Trailer")
	}
	if o.code == http.StatusSwitchingProtocols {
		o.contentLength = 0
	}
	o.header = h1difftest.CollapseOWS(h)
}

// diffResponse compares the two parsers on in. It returns the name of the
// rule that excuses an accept/refuse disagreement, and a description of
// any disagreement no rule excuses ("" when they agree).
func diffResponse(tr *Transport, in []byte, method string) (rule, diff string) {
	g, gerr := gatehouseResponse(tr, bytes.Clone(in), method)
	s, serr := netHTTPResponse(bytes.Clone(in), method)
	switch {
	case gerr != nil && serr != nil:
		return "", ""
	case gerr != nil:
		if rule := matchChain(responseStricter, in); rule != "" {
			return rule, ""
		}
		return "", "Gatehouse refuses (" + gerr.Error() + "), net/http accepts"
	case serr != nil:
		if rule := matchChain(responseLaxer, in); rule != "" {
			return rule, ""
		}
		return "", "Gatehouse accepts, net/http refuses (" + serr.Error() + ")"
	}
	_, gcc := g.header["Cache-Control"]
	g.normalise(method, false)
	s.normalise(method, !gcc)
	var d h1difftest.Diff
	check := d.Check
	check("status", g.status, s.status)
	check("code", g.code, s.code)
	check("minor", g.minor, s.minor)
	check("header", g.header, s.header)
	check("close", g.close, s.close)
	check("chunked", g.chunked, s.chunked)
	check("content-length", g.contentLength, s.contentLength)
	check("body", string(g.body), string(s.body))
	check("trailer", g.trailer, s.trailer)
	check("rest", string(g.rest), string(s.rest))
	return "", d.String()
}

// matchChain matches rules against each response in in: the interim (1xx)
// responses and the final one, since both parsers read them all.
func matchChain(rules []h1difftest.Rule, in []byte) string {
	m := h1difftest.Scan(in)
	for {
		if name := h1difftest.Match(rules, m); name != "" {
			return name
		}
		if !m.HeadEnd || !interimStatus(m.StartLine) {
			return ""
		}
		m = h1difftest.Scan(m.Body)
	}
}

// FuzzDiffResponse feeds the same bytes, as the response to a GET or a
// HEAD (HEAD changes the framing), to Gatehouse's response parser and to
// net/http's, and fails when they disagree on accept/refuse, status,
// fields, body framing, body bytes, trailers, or the bytes left for the
// next response — unless a rule in responseStricter or responseLaxer names
// the difference. Seeds: testdata/fuzz/FuzzDiffResponse (smuggling and
// response-splitting shapes) and fuzzSeeds.
func FuzzDiffResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	tr := New(Config{MaxResponseHeaderBytes: diffMaxHeader})
	f.Cleanup(tr.CloseIdleConnections)
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		method := http.MethodGet
		if head {
			method = http.MethodHead
		}
		if _, d := diffResponse(tr, in, method); d != "" {
			t.Fatalf("%s response %q\n%s", method, in, d)
		}
	})
}

// TestDiffResponseRulesUsed checks that the seed corpus exercises every
// deliberate difference: a rule no input needs is a hole in the
// differential check, or a difference that no longer exists.
func TestDiffResponseRulesUsed(t *testing.T) {
	corpus, err := h1difftest.ReadCorpus("testdata/fuzz/FuzzDiffResponse")
	if err != nil {
		t.Fatal(err)
	}
	tr := New(Config{MaxResponseHeaderBytes: diffMaxHeader})
	defer tr.CloseIdleConnections()
	used := make(map[string]bool)
	for _, vals := range corpus {
		method := http.MethodGet
		if vals[1].(bool) {
			method = http.MethodHead
		}
		rule, diff := diffResponse(tr, vals[0].([]byte), method)
		if diff != "" {
			t.Errorf("%s %q: %s", method, vals[0], diff)
		}
		used[rule] = true
	}
	for _, r := range append(responseStricter, responseLaxer...) {
		if !used[r.Name] {
			t.Errorf("rule %q is not exercised by any seed in testdata/fuzz/FuzzDiffResponse", r.Name)
		}
	}
}
