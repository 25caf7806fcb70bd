package gatewayapi

import (
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"
)

// echoContext is what an echo-basic pod knows about itself (its
// environment in the Deployment).
type echoContext struct {
	Namespace string `json:"namespace"`
	Ingress   string `json:"ingress"`
	Service   string `json:"service"`
	Pod       string `json:"pod"`
}

// echoAssertions is echo-basic's response body, field for field
// (conformance/echo-basic/echo-basic.go, RequestAssertions): the suite's
// round tripper decodes it into roundtripper.CapturedRequest.
type echoAssertions struct {
	Path     string              `json:"path"`
	Host     string              `json:"host"`
	Method   string              `json:"method"`
	Proto    string              `json:"proto"`
	Headers  map[string][]string `json:"headers"`
	HTTPPort string              `json:"httpPort"`
	echoContext
	TLS *echoTLS `json:"tls,omitempty"`
}

type echoTLS struct {
	Version            string   `json:"version"`
	PeerCertificates   []string `json:"peerCertificates,omitempty"`
	ServerName         string   `json:"serverName"`
	NegotiatedProtocol string   `json:"negotiatedProtocol,omitempty"`
	CipherSuite        string   `json:"cipherSuite"`
}

// echoHandler is echo-basic's HTTP behaviour, reimplemented because the
// upstream is a main package (it cannot be imported) and binds every
// interface on fixed ports (one process per pod would collide here):
// /health, /status/NNN, /retry/ (fails until ?succeedAfter attempts per
// ?uuid), /ws (websocket echo) and everything else echoed back as JSON,
// honouring ?delay= and X-Echo-Set-Header.
func echoHandler(ctx echoContext, httpPort string, log *podLog) http.Handler {
	retries := &retrySimulation{attempts: map[string]int{}}
	echo := func(w http.ResponseWriter, r *http.Request) { echoBack(w, r, ctx, httpPort, log) }
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("OK")) })
	mux.HandleFunc("/status/", statusHandler)
	mux.HandleFunc("/retry/", func(w http.ResponseWriter, r *http.Request) { retries.serve(w, r, echo) })
	mux.HandleFunc("/", echo)
	mux.Handle("/ws", websocket.Handler(func(ws *websocket.Conn) { io.Copy(ws, ws) }))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.URL.Path = strings.ReplaceAll(r.URL.Path, "//", "/") // echo-basic's preserveSlashes
		mux.ServeHTTP(w, r)
	})
}

var statusPath = regexp.MustCompile(`^/status/(\d\d\d)$`)

func statusHandler(w http.ResponseWriter, r *http.Request) {
	code := http.StatusBadRequest
	if m := statusPath.FindStringSubmatch(r.RequestURI); m != nil {
		code, _ = strconv.Atoi(m[1])
	}
	w.WriteHeader(code)
}

type retrySimulation struct {
	mu       sync.Mutex
	attempts map[string]int
}

func (rs *retrySimulation) serve(w http.ResponseWriter, r *http.Request, echo http.HandlerFunc) {
	q := r.URL.Query()
	uuid := q.Get("uuid")
	succeedAfter, err := strconv.Atoi(q.Get("succeedAfter"))
	if uuid == "" || err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rs.mu.Lock()
	failing := rs.attempts[uuid] < succeedAfter
	if failing {
		rs.attempts[uuid]++
	}
	rs.mu.Unlock()
	if !failing {
		echo(w, r)
		return
	}
	if err := delay(r, "delayRetry"); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if code, err := strconv.Atoi(q.Get("responseCode")); err == nil {
		w.WriteHeader(code)
		return
	}
	// Default failure mode: reset the connection.
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				tc.SetLinger(0)
			}
			conn.Close()
			return
		}
	}
	w.WriteHeader(http.StatusInternalServerError)
}

// delay sleeps for the duration in query parameter key (bounded: the
// suite asks for at most a few seconds).
func delay(r *http.Request, key string) error {
	v := r.URL.Query().Get(key)
	if v == "" {
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return err
	}
	if d > time.Minute {
		return errors.New("delay longer than a minute")
	}
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
	return nil
}

func echoBack(w http.ResponseWriter, r *http.Request, ctx echoContext, httpPort string, log *podLog) {
	log.printf("Echoing back request made to %s to client (%s)", r.RequestURI, r.RemoteAddr)
	if err := delay(r, "delay"); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a := echoAssertions{
		Path: r.RequestURI, Host: r.Host, Method: r.Method, Proto: r.Proto,
		Headers: r.Header, HTTPPort: httpPort, echoContext: ctx, TLS: tlsAssertions(r.TLS),
	}
	js, err := json.MarshalIndent(a, "", " ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, kvs := range r.Header["X-Echo-Set-Header"] {
		for kv := range strings.SplitSeq(kvs, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(kv), ":")
			if len(w.Header()[name]) == 0 {
				w.Header()[name] = []string{value}
			} else {
				w.Header()[name][0] += "," + strings.TrimSpace(value)
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(js)
}

func tlsAssertions(cs *tls.ConnectionState) *echoTLS {
	if cs == nil {
		return nil
	}
	t := &echoTLS{
		Version:            strings.Replace(tls.VersionName(cs.Version), "TLS 1.", "TLSv1.", 1),
		ServerName:         cs.ServerName,
		NegotiatedProtocol: cs.NegotiatedProtocol,
		CipherSuite:        tls.CipherSuiteName(cs.CipherSuite),
	}
	for _, c := range cs.PeerCertificates {
		t.PeerCertificates = append(t.PeerCertificates, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})))
	}
	return t
}

// h2cOnly is echo-basic's h2c port: HTTP/2 without TLS (prior knowledge
// or Upgrade), anything else is answered 400.
func h2cOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 && r.Header.Get("Upgrade") != "h2c" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "Expected h2c request")
			return
		}
		next.ServeHTTP(w, r)
	})
}
