package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1wire/h1difftest"
)

// TestSmugglingProbes sends generated Transfer-Encoding × Content-Length ×
// line-ending mutations through a plain listener, each followed on the same
// connection by an innocent request, to a raw TCP upstream that parses
// what it receives with net/http's request parser and records it.
//
// Three checks per probe. A probe whose head is ambiguous by Gatehouse's
// policy (mustRefuse: CL with TE, TE other than one chunked, a bad
// Content-Length, obs-fold, invalid field names or values) is refused
// before anything reaches the upstream: 400, or 501 for an unknown coding
// (RFC 9112 section 6.1), and the connection closed. Every head the
// upstream receives has unambiguous framing (ambiguousFraming). And the
// oracle is a reference parse of the bytes the client sent (net/http's
// ReadRequest plus its server's field checks, the same reference as
// internal/h1server's FuzzDiffRequest): the requests the upstream sees for
// a probe must be a prefix of the reference's requests, identical in
// method, target and body. So each probe is either refused by Gatehouse
// (an error status and a closed connection, nothing forwarded), or
// forwarded as exactly the request the reference reads, and a request the
// client did not send as a separate well-framed request (the body's
// "/smuggled" request, a merge of the innocent one) never reaches the
// upstream. The upstream must never see an unparseable stream. (A prefix,
// because Gatehouse may stop early: it also closes every connection that
// sent a chunked request once it is answered, see internal/proxy.)
func TestSmugglingProbes(t *testing.T) {
	t.Parallel()
	up := newRecordingUpstream(t)
	addr := freeAddr(t)
	g := startGateway(t, fmt.Sprintf(`
listeners:
  - name: web
    address: %s
upstreams:
  - name: raw
    targets: [{url: "http://%s"}]
routes:
  - name: all
    match: {path: {prefix: /}}
    backend: {upstream: raw}
`, addr, up.ln.Addr()))

	probes := smugglingProbes()
	results := make([]probeResult, len(probes))
	for i, p := range probes {
		results[i] = sendProbe(t, addr, p.wire(i))
	}
	// Everything the gateway forwarded has reached the upstream once its
	// connections are closed and read to the end.
	g.stop()
	if !up.waitIdle(15 * time.Second) {
		t.Fatal("upstream connections still open 15s after the gateway stopped")
	}
	up.ln.Close()

	seen := up.byProbe()
	var refused, one, both, aborted int
	for i, p := range probes {
		wire := p.wire(i)
		ref := referenceRequests(wire)
		obs := seen[i]
		res := results[i]
		fail := func(format string, args ...any) {
			t.Errorf("probe %d %s:\n%q\n%s\nupstream saw %v\nreference %v\nclient got %v", i, p.name,
				wire, fmt.Sprintf(format, args...), obs, ref, res)
		}
		if len(obs) > 0 && mustRefuse(wire) {
			fail("an ambiguous probe was forwarded")
		}
		if len(obs) > len(ref) {
			fail("the upstream saw more requests than the client sent")
			continue
		}
		for k := range obs {
			if obs[k] != ref[k] {
				fail("request %d differs from the reference", k)
			}
		}
		if res.ok != len(obs) {
			fail("%d responses from the upstream for %d forwarded requests", res.ok, len(obs))
		}
		if res.refusal != 0 && res.refusal != http.StatusBadRequest && res.refusal != http.StatusNotImplemented {
			fail("refused with %d, want 400 or 501", res.refusal)
		}
		if res.err != nil {
			fail("client: %v", res.err)
		}
		if res.refusal != 0 && !res.closed {
			fail("refused with %d but the connection stayed open", res.refusal)
		}
		switch {
		case len(obs) == 0:
			refused++
		case len(obs) == 1:
			one++
		default:
			both++
		}
	}
	up.mu.Lock()
	aborted = up.aborted
	errs := up.errs
	up.mu.Unlock()
	for _, e := range errs {
		t.Errorf("upstream: %s", e)
	}
	t.Logf("%d probes: %d refused before the upstream, %d forwarded as one request, %d with the innocent request after it; %d forwarded bodies aborted mid-way",
		len(probes), refused, one, both, aborted)
}

// probe is one mutation: Transfer-Encoding field lines, a function giving
// the Content-Length field lines for the body's length and the length of
// its chunked part, and the line ends of the head and of the body.
type probe struct {
	name    string
	te      []string
	cl      func(n, part int) []string
	headEOL string
	bodyEOL string
}

// wire renders probe i followed by the innocent request. The body is a
// valid chunked body followed by a complete request (/smuggled): which of
// the two a parser takes for the body is the ambiguity each probe plays on.
func (p probe) wire(i int) string {
	e := p.bodyEOL
	part := "5" + e + "hello" + e + "0" + e + e
	body := part + "GET /p" + strconv.Itoa(i) + "/smuggled HTTP/1.1" + e + "Host: probe.test" + e + e
	var b strings.Builder
	b.WriteString("POST /p" + strconv.Itoa(i) + "/probe HTTP/1.1" + p.headEOL + "Host: probe.test" + p.headEOL)
	for _, f := range p.te {
		b.WriteString(f + p.headEOL)
	}
	for _, f := range p.cl(len(body), len(part)) {
		b.WriteString(f + p.headEOL)
	}
	b.WriteString(p.headEOL)
	b.WriteString(body)
	b.WriteString("GET /p" + strconv.Itoa(i) + "/second HTTP/1.1" + p.headEOL + "Host: probe.test" + p.headEOL + p.headEOL)
	return b.String()
}

// smugglingProbes generates the TE × CL × line-ending combinations.
func smugglingProbes() []probe {
	te := []struct {
		name   string
		fields []string
	}{
		{"no-te", nil},
		{"chunked", []string{"Transfer-Encoding: chunked"}},
		{"chunked-upper", []string{"Transfer-Encoding: CHUNKED"}},
		{"xchunked", []string{"Transfer-Encoding: xchunked"}},
		{"chunked-trailing-space", []string{"Transfer-Encoding: chunked "}},
		{"tab-chunked", []string{"Transfer-Encoding:\tchunked"}},
		{"vtab-chunked", []string{"Transfer-Encoding: \x0bchunked"}},
		{"chunked-identity", []string{"Transfer-Encoding: chunked, identity"}},
		{"identity-chunked", []string{"Transfer-Encoding: identity, chunked"}},
		{"identity", []string{"Transfer-Encoding: identity"}},
		{"quoted", []string{`Transfer-Encoding: "chunked"`}},
		{"chunked-comma", []string{"Transfer-Encoding: chunked,"}},
		{"dup-chunked", []string{"Transfer-Encoding: chunked", "Transfer-Encoding: chunked"}},
		{"dup-chunked-identity", []string{"Transfer-Encoding: chunked", "Transfer-Encoding: identity"}},
		{"space-before-colon", []string{"Transfer-Encoding : chunked"}},
		{"underscore-name", []string{"Transfer_Encoding: chunked"}},
		{"obs-fold", []string{"Transfer-Encoding:", " chunked"}},
		{"fold-into-other", []string{"X-Pad: a", " Transfer-Encoding: chunked"}},
		{"nul", []string{"Transfer-Encoding: chunked\x00"}},
		{"cr-in-value", []string{"Transfer-Encoding: chunked\rX: y"}},
	}
	one := func(f func(n, part int) string) func(int, int) []string {
		return func(n, part int) []string { return []string{"Content-Length: " + f(n, part)} }
	}
	itoa := strconv.Itoa
	cls := []struct {
		name string
		f    func(n, part int) []string
	}{
		{"no-cl", func(int, int) []string { return nil }},
		{"cl-body", one(func(n, _ int) string { return itoa(n) })},
		{"cl-chunked-part", one(func(_, part int) string { return itoa(part) })},
		{"cl-zero", one(func(int, int) string { return "0" })},
		{"cl-4", one(func(int, int) string { return "4" })},
		{"cl-plus", one(func(n, _ int) string { return "+" + itoa(n) })},
		{"cl-hex", one(func(n, _ int) string { return "0x" + strconv.FormatInt(int64(n), 16) })},
		{"cl-leading-space", one(func(n, _ int) string { return "  " + itoa(n) })},
		{"cl-list-equal", one(func(n, _ int) string { return itoa(n) + ", " + itoa(n) })},
		{"cl-list-differ", one(func(n, part int) string { return itoa(part) + ", " + itoa(n) })},
		{"cl-dup-equal", func(n, _ int) []string { return []string{"Content-Length: " + itoa(n), "Content-Length: " + itoa(n)} }},
		{"cl-dup-differ", func(n, part int) []string {
			return []string{"Content-Length: " + itoa(part), "Content-Length: " + itoa(n)}
		}},
		{"cl-negative", one(func(int, int) string { return "-1" })},
	}
	eols := []struct{ name, head, body string }{
		{"crlf", "\r\n", "\r\n"},
		{"lf-head", "\n", "\r\n"},
		{"lf-all", "\n", "\n"},
	}
	var out []probe
	for _, e := range eols {
		for _, tv := range te {
			for _, c := range cls {
				out = append(out, probe{name: tv.name + "/" + c.name + "/" + e.name, te: tv.fields, cl: c.f, headEOL: e.head, bodyEOL: e.body})
			}
		}
	}
	return out
}

// upReq is a request as the upstream (or the reference) reads it.
type upReq struct{ Method, URI, Body string }

// probeResult is what the client saw on its connection.
type probeResult struct {
	ok      int   // 200 responses from the upstream
	refusal int   // status of a response Gatehouse produced itself
	closed  bool  // the connection ended after the last response
	err     error // a failure other than the connection ending
}

// sendProbe writes wire on a new connection and reads responses: as many
// as the reference says the client sent, or up to the first one the
// gateway answered itself (which must end the connection).
func sendProbe(t *testing.T, addr, wire string) probeResult {
	t.Helper()
	var res probeResult
	n := len(referenceRequests(wire))
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, wire); err != nil {
		res.err = err
		return res
	}
	br := bufio.NewReader(c)
	for res.ok < n || res.ok == 0 {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			res.closed = connEnded(err)
			if !res.closed {
				res.err = err
			}
			return res
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			res.err = err
			return res
		}
		if resp.StatusCode == http.StatusOK && string(body) == "upstream-ok" {
			res.ok++
			continue
		}
		res.refusal = resp.StatusCode
		_, err = br.ReadByte()
		res.closed = err != nil && connEnded(err)
		if err != nil && !res.closed {
			res.err = err
		}
		return res
	}
	return res
}

// connEnded reports whether err is the peer closing the connection (not a
// timeout).
func connEnded(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return true
}

func (r probeResult) String() string {
	return fmt.Sprintf("{ok:%d refusal:%d closed:%v err:%v}", r.ok, r.refusal, r.closed, r.err)
}

// referenceRequests parses wire as a net/http server would (ReadRequest,
// then the server's Host and field checks; empty lines between requests
// skipped as RFC 9112 section 2.2 allows and Gatehouse does) and returns
// the complete requests up to the first it refuses or that closes the
// connection.
func referenceRequests(wire string) []upReq {
	br := bufio.NewReader(strings.NewReader(wire))
	var out []upReq
	for {
		for {
			b, err := br.Peek(1)
			if err != nil {
				return out
			}
			if b[0] != '\r' && b[0] != '\n' {
				break
			}
			if b[0] == '\r' {
				if p, _ := br.Peek(2); len(p) < 2 || p[1] != '\n' {
					break
				}
				br.Discard(1)
			}
			br.Discard(1)
		}
		req, err := http.ReadRequest(br)
		if err != nil || !referenceFieldsOK(req) {
			return out
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return out
		}
		out = append(out, upReq{req.Method, req.RequestURI, string(body)})
		if req.Close {
			return out
		}
	}
}

// referenceFieldsOK is net/http's server check after ReadRequest (its
// conn.readRequest): valid field names and values. The probes always send
// one valid Host, which ReadRequest has already moved out of Header.
func referenceFieldsOK(req *http.Request) bool {
	for k, vv := range req.Header {
		if !h1difftest.IsToken(k) {
			return false
		}
		for _, v := range vv {
			for i := 0; i < len(v); i++ {
				if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
					return false
				}
			}
		}
	}
	return true
}

// recordingUpstream is a raw TCP origin that reads requests with
// net/http's parser, records each complete one and answers it; a stream it
// cannot parse is recorded as an error.
type recordingUpstream struct {
	ln      net.Listener
	wg      sync.WaitGroup
	mu      sync.Mutex
	open    int
	reqs    []upReq
	errs    []string
	aborted int // requests whose body ended early (the gateway aborted them)
}

func newRecordingUpstream(t *testing.T) *recordingUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &recordingUpstream{ln: ln}
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.mu.Lock()
			u.open++
			u.mu.Unlock()
			u.wg.Add(1)
			go u.serve(c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		u.wg.Wait()
	})
	return u
}

const upstreamOK = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nupstream-ok"

func (u *recordingUpstream) serve(c net.Conn) {
	defer u.wg.Done()
	defer func() {
		c.Close()
		u.mu.Lock()
		u.open--
		u.mu.Unlock()
	}()
	c.SetDeadline(time.Now().Add(time.Minute))
	rec := &recordingReader{r: c}
	br := bufio.NewReader(rec)
	for {
		if _, err := br.Peek(1); err != nil {
			return
		}
		start := len(rec.b) - br.Buffered()
		req, err := http.ReadRequest(br)
		if err != nil {
			u.mu.Lock()
			u.errs = append(u.errs, "unparseable request stream: "+err.Error())
			u.mu.Unlock()
			return
		}
		if msg := ambiguousFraming(rec.b[start : len(rec.b)-br.Buffered()]); msg != "" {
			u.mu.Lock()
			u.errs = append(u.errs, fmt.Sprintf("forwarded head %q: %s", rec.b[start:len(rec.b)-br.Buffered()], msg))
			u.mu.Unlock()
		}
		body, err := io.ReadAll(req.Body)
		u.mu.Lock()
		if err != nil {
			u.aborted++
		} else {
			u.reqs = append(u.reqs, upReq{req.Method, req.RequestURI, string(body)})
		}
		u.mu.Unlock()
		if err != nil {
			return
		}
		if _, err := io.WriteString(c, upstreamOK); err != nil || req.Close {
			return
		}
	}
}

// waitIdle waits until no upstream connection is open.
func (u *recordingUpstream) waitIdle(d time.Duration) bool {
	return waitFor(d, func() bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		return u.open == 0
	})
}

// byProbe groups the recorded requests by the probe index in their path
// ("/p<i>/..."); a request with any other path is an error.
func (u *recordingUpstream) byProbe() map[int][]upReq {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make(map[int][]upReq)
	for _, r := range u.reqs {
		rest, ok := strings.CutPrefix(r.URI, "/p")
		num, _, ok2 := strings.Cut(rest, "/")
		i, err := strconv.Atoi(num)
		if !ok || !ok2 || err != nil {
			u.errs = append(u.errs, fmt.Sprintf("request nobody sent: %+v", r))
			continue
		}
		out[i] = append(out[i], r)
	}
	return out
}

// recordingReader keeps every byte read through it.
type recordingReader struct {
	r io.Reader
	b []byte
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.b = append(r.b, p[:n]...)
	return n, err
}

// ambiguousFraming checks a forwarded head as any HTTP/1.1 origin must be
// able to read it the same way (RFC 9112 sections 2.2, 5, 6): CRLF line
// ends only, no obs-fold, token field names, and at most one framing
// field: a single "Transfer-Encoding: chunked" or a single all-digit
// Content-Length.
func ambiguousFraming(head []byte) string {
	if !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
		return "does not end with CRLF CRLF"
	}
	lines := strings.Split(string(head[:len(head)-4]), "\r\n")
	var te, cl []string
	for _, l := range lines[1:] {
		if strings.ContainsAny(l, "\r\n") {
			return "bare CR or LF"
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok || !h1difftest.IsToken(name) {
			return "invalid field line " + strconv.Quote(l)
		}
		switch strings.ToLower(name) {
		case "transfer-encoding":
			te = append(te, strings.Trim(value, " \t"))
		case "content-length":
			cl = append(cl, strings.Trim(value, " \t"))
		}
	}
	switch {
	case len(te) > 0 && len(cl) > 0:
		return "both Transfer-Encoding and Content-Length"
	case len(te) > 1 || len(te) == 1 && te[0] != "chunked":
		return "Transfer-Encoding other than one chunked"
	case len(cl) > 1:
		return "several Content-Length lines"
	case len(cl) == 1 && strings.Trim(cl[0], "0123456789") != "":
		return "Content-Length not a plain number"
	}
	return ""
}

// mustRefuse reports whether the head of the first request in wire is one
// Gatehouse refuses by policy, whatever net/http would do with it: obs-fold,
// an invalid field name or value, Transfer-Encoding with Content-Length,
// more than one Transfer-Encoding line or another coding than chunked,
// a Content-Length that is not one plain number (RFC 9112 sections 5.2, 6.1,
// 6.3; the deliberate differences in internal/h1server's diff_rules_test.go).
func mustRefuse(wire string) bool {
	head, _, _ := strings.Cut(strings.ReplaceAll(wire, "\r\n", "\n"), "\n\n")
	var te, cl []string
	for _, l := range strings.Split(head, "\n")[1:] {
		if l[0] == ' ' || l[0] == '\t' {
			return true
		}
		name, value, _ := strings.Cut(l, ":")
		value = strings.Trim(value, " \t")
		if !h1difftest.IsToken(name) || strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }) {
			return true
		}
		switch strings.ToLower(name) {
		case "transfer-encoding":
			te = append(te, value)
		case "content-length":
			cl = append(cl, value)
		}
	}
	if len(te) > 0 {
		return len(cl) > 0 || len(te) > 1 || !strings.EqualFold(te[0], "chunked")
	}
	for _, v := range cl {
		if v != cl[0] || v == "" || strings.Trim(v, "0123456789") != "" {
			return true
		}
	}
	return false
}
