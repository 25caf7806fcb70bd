package h1server

import (
	"bufio"
	"bytes"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse/gatehouse/internal/h1wire"
)

// statusError is a request the server refuses with code, closing the
// connection. They are package values so hostile input allocates nothing.
type statusError struct {
	code int
	msg  string
}

func (e *statusError) Error() string { return "h1server: " + e.msg }

var (
	errHeaderTooLarge = &statusError{http.StatusRequestHeaderFieldsTooLarge, "request header too large"}
	errRequestLine    = &statusError{http.StatusBadRequest, "malformed request line"}
	errMethod         = &statusError{http.StatusBadRequest, "invalid method"}
	errRequestTarget  = &statusError{http.StatusBadRequest, "invalid request target"}
	errVersion        = &statusError{http.StatusHTTPVersionNotSupported, "unsupported HTTP version"}
	errHeaderLine     = &statusError{http.StatusBadRequest, "invalid header line"}
	errHeaderValue    = &statusError{http.StatusBadRequest, "invalid header value"}
	errObsFold        = &statusError{http.StatusBadRequest, "obsolete line folding"}
	errMissingHost    = &statusError{http.StatusBadRequest, "missing required Host header"}
	errManyHosts      = &statusError{http.StatusBadRequest, "too many Host headers"}
	errBadHost        = &statusError{http.StatusBadRequest, "malformed Host header"}
	errContentLength  = &statusError{http.StatusBadRequest, "invalid Content-Length"}
	errMultipleCL     = &statusError{http.StatusBadRequest, "conflicting Content-Length values"}
	errTransferEnc    = &statusError{http.StatusNotImplemented, "unsupported Transfer-Encoding"}
	errCLAndChunked   = &statusError{http.StatusBadRequest, "both Content-Length and Transfer-Encoding"}
	errTEOnHTTP10     = &statusError{http.StatusBadRequest, "Transfer-Encoding in an HTTP/1.0 request"}
	errBadTrailerKey  = &statusError{http.StatusBadRequest, "invalid Trailer declaration"}
	errExpectation    = &statusError{http.StatusExpectationFailed, "unsupported Expect"}
)

// span locates one header field in the head buffer.
type span struct{ ks, ke, vs, ve int32 }

// readHead reads one request head into buf, skipping empty lines before
// the request line (RFC 9112 section 2.2).
func readHead(br *bufio.Reader, buf []byte, limit int) ([]byte, error) {
	buf, err := h1wire.ReadHead(br, buf, limit, true)
	if err == h1wire.ErrHeadTooLarge {
		err = errHeaderTooLarge
	}
	return buf, err
}

// parsedHead is everything parseHead extracts, ready for building the
// request.
type parsedHead struct {
	method, target string
	minor          int
	header         http.Header
	host           string
	haveHost       bool
	contentLength  int64
	chunked        bool
	closeConn      bool // Connection: close, or HTTP/1.0 without keep-alive
	keepAlive10    bool // HTTP/1.0 with Connection: keep-alive
	expectContinue bool
	trailer        http.Header
}

// parseHead validates a head from readHead, canonicalises the field names
// in place and fills p. The head is converted to a string once: method,
// target, every key and value are substrings of it. vals is scratch backing
// for the header values (one slice for all of them).
func parseHead(head []byte, spans []span, vals []string, p *parsedHead) ([]span, error) {
	lf := bytes.IndexByte(head, '\n')
	line := head[:lf]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return spans, errRequestLine
	}
	if !h1wire.IsTokenBytes(line[:sp1]) { // sp1 > 0: never empty here
		return spans, errMethod
	}
	rest := line[sp1+1:]
	sp2 := bytes.IndexByte(rest, ' ')
	if sp2 <= 0 {
		return spans, errRequestLine
	}
	for _, c := range rest[:sp2] {
		if c <= ' ' || c == 0x7f {
			return spans, errRequestTarget
		}
	}
	switch proto := rest[sp2+1:]; string(proto) {
	case "HTTP/1.1":
		p.minor = 1
	case "HTTP/1.0":
		p.minor = 0
	default:
		if len(proto) == 8 && string(proto[:5]) == "HTTP/" && isDigit(proto[5]) && proto[6] == '.' && isDigit(proto[7]) {
			return spans, errVersion
		}
		return spans, errRequestLine
	}

	// Fields.
	pos := lf + 1
	for pos < len(head) {
		nl := pos + bytes.IndexByte(head[pos:], '\n')
		end := nl
		if end > pos && head[end-1] == '\r' {
			end--
		}
		if end == pos {
			break
		}
		if b := head[pos]; b == ' ' || b == '\t' {
			return spans, errObsFold
		}
		colon, vs, ve, ferr := h1wire.ParseFieldLine(head, pos, end)
		switch ferr {
		case h1wire.FieldBadLine:
			return spans, errHeaderLine
		case h1wire.FieldBadValue:
			return spans, errHeaderValue
		}
		spans = append(spans, span{int32(pos), int32(colon), int32(vs), int32(ve)})
		pos = nl + 1
	}

	s := string(head)
	p.method = s[:sp1]
	p.target = s[sp1+1 : sp1+1+sp2]

	h := make(http.Header, len(spans))
	if len(spans) > len(vals) {
		vals = make([]string, len(spans))
	}
	var te []string
	nHost := 0
	for i, sp := range spans {
		k, v := s[sp.ks:sp.ke], s[sp.vs:sp.ve]
		switch k {
		case "Host":
			// net/http removes Host from Header; it lives in r.Host.
			nHost++
			p.host = v
			continue
		case "Transfer-Encoding":
			te = append(te, v)
			continue
		}
		if vv := h[k]; vv != nil {
			h[k] = append(vv, v)
		} else {
			vals[i] = v
			h[k] = vals[i : i+1 : i+1]
		}
	}
	p.header = h
	p.haveHost = nHost > 0
	if nHost > 1 {
		return spans, errManyHosts
	}
	if nHost == 1 && !validHost(p.host) {
		return spans, errBadHost
	}
	if p.minor == 1 && nHost == 0 && p.method != http.MethodConnect {
		return spans, errMissingHost
	}

	// Framing (RFC 9112 section 6).
	p.contentLength = -1
	if vv := h["Content-Length"]; vv != nil {
		// Repeats must agree exactly; a comma list is refused (net/http
		// refuses it too).
		for _, v := range vv[1:] {
			if v != vv[0] {
				return spans, errMultipleCL
			}
		}
		n, ok := h1wire.ParseDecimal(vv[0])
		if !ok {
			return spans, errContentLength
		}
		if len(vv) > 1 {
			h["Content-Length"] = vv[:1]
		}
		p.contentLength = n
	}
	if te != nil {
		switch {
		case p.minor == 0:
			return spans, errTEOnHTTP10
		case len(te) != 1 || !strings.EqualFold(te[0], "chunked"):
			return spans, errTransferEnc
		case p.contentLength >= 0:
			return spans, errCLAndChunked
		}
		p.chunked = true
		if vv, ok := h["Trailer"]; ok {
			delete(h, "Trailer")
			tr := make(http.Header)
			for _, v := range vv {
				for _, k := range strings.Split(v, ",") {
					k = strings.Trim(k, " \t")
					if k == "" {
						continue
					}
					k = http.CanonicalHeaderKey(k)
					switch k {
					case "Transfer-Encoding", "Trailer", "Content-Length", "Host":
						return spans, errBadTrailerKey
					}
					if !h1wire.IsToken(k) {
						return spans, errBadTrailerKey
					}
					tr[k] = nil
				}
			}
			p.trailer = tr
		}
	}

	// Connection (RFC 9112 section 9.3): "close" wins over "keep-alive",
	// in HTTP/1.0 too, as in net/http.
	conn := h["Connection"]
	p.closeConn = headerHasToken(conn, "close")
	if p.minor == 0 {
		p.keepAlive10 = !p.closeConn && headerHasToken(conn, "keep-alive")
		p.closeConn = !p.keepAlive10
	}
	if ev, ok := h["Expect"]; ok {
		delete(h, "Expect")
		cont, known := expectations(ev)
		if !known {
			return spans, errExpectation
		}
		p.expectContinue = cont && p.minor == 1
	}
	if hp, ok := h["Pragma"]; ok && len(hp) > 0 && hp[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	return spans, nil
}

// expectations reads the Expect field lines: whether 100-continue is
// expected, and whether every member is one the server knows (RFC 9110
// section 10.1.1: any other member MAY be answered 417, which we do for
// all of them, whichever line they are on; empty members are ignored).
func expectations(vv []string) (cont, known bool) {
	for _, v := range vv {
		for v != "" {
			elem, rest, _ := strings.Cut(v, ",")
			v = rest
			switch elem = strings.Trim(elem, " \t"); {
			case elem == "":
			case strings.EqualFold(elem, "100-continue"):
				cont = true
			default:
				return false, false
			}
		}
	}
	return cont, true
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }

// parseTarget parses the request target as net/http does
// (url.ParseRequestURI, with CONNECT's authority-form), with a fast path
// for plain origin-form paths that fills u without allocating.
func parseTarget(method, target string, u *url.URL) (*url.URL, error) {
	if target[0] == '/' {
		path, query, hasQuery := strings.Cut(target, "?")
		fast := !hasQuery || query != ""
		for i := 0; fast && i < len(path); i++ {
			fast = pathSafe[path[i]]
		}
		if fast {
			*u = url.URL{Path: path, RawQuery: query}
			return u, nil
		}
	} else if target == "*" {
		if method != http.MethodOptions {
			return nil, errRequestTarget
		}
	}
	justAuthority := method == http.MethodConnect && target[0] != '/'
	raw := target
	if justAuthority {
		raw = "http://" + target
	}
	pu, err := url.ParseRequestURI(raw)
	if err != nil {
		return nil, errRequestTarget
	}
	if justAuthority {
		pu.Scheme = ""
	}
	return pu, nil
}
