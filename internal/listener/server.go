// Package listener builds the HTTP(S) servers Gatehouse listens with: TLS
// with SNI, HTTP/2 over TLS, h2c, timeouts and header limits, and the
// trusted-proxy rules that decide who the client is.
package listener

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/h1server"
	"github.com/gatehouse/gatehouse/internal/l4/proxyproto"
)

// Settings are the parts of a listener that need a new server to change.
// It is comparable: a reload keeps a server whose Settings are equal.
type Settings struct {
	Name           string
	Address        string
	TLS            bool
	MinTLSVersion  uint16 // tls.VersionTLS12 or tls.VersionTLS13
	HTTP2          bool   // offer h2 via ALPN (TLS listeners)
	H2C            bool   // accept h2c (prior knowledge) on plain listeners
	ReadHeader     time.Duration
	Read           time.Duration
	Write          time.Duration
	Idle           time.Duration
	MaxHeaderBytes int
	// ClientAuth is mTLS: tls.VerifyClientCertIfGiven or
	// tls.RequireAndVerifyClientCert, checked against ClientCAPEM (the CA
	// bundle's content, so Settings stay comparable and a changed bundle
	// restarts the listener on reload).
	ClientAuth  tls.ClientAuthType
	ClientCAPEM string
	// ProxyProtocol accepts PROXY protocol headers from trusted peers
	// (proxyproto.Listener, read before TLS); zero = off. Request
	// RemoteAddr, and so the client IP, is then the header's source.
	ProxyProtocol ProxyAccept
}

// Server is one running listener.
type Server struct {
	Settings Settings
	srv      engine
	ln       net.Listener
	done     chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]http.ConnState // connections not idle: new or active
}

// Serve starts serving h on ln in the background. getCert picks the TLS
// certificate (it may change on reload without a new server).
func Serve(ln net.Listener, s Settings, h http.Handler, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), errLog *slog.Logger) *Server {
	if s.ProxyProtocol.Enabled() {
		// Outermost, below TLS: the header precedes the handshake.
		ln = proxyproto.Listener(ln, s.ProxyProtocol.Config())
	}
	if !s.TLS && !s.H2C {
		// Plain HTTP/1.1: the synchronous engine, which costs far less CPU
		// per request than net/http's server (no background read
		// goroutine per request, one buffered write per response).
		sv := &Server{Settings: s, ln: ln, done: make(chan struct{}), conns: map[net.Conn]http.ConnState{}}
		sv.srv = h1server.New(h, h1server.Config{
			ReadHeaderTimeout: s.ReadHeader, ReadTimeout: s.Read, WriteTimeout: s.Write, IdleTimeout: s.Idle,
			MaxHeaderBytes: s.MaxHeaderBytes, ErrorLog: errLog,
			// No ConnState tracking: h1server's own Shutdown answers a
			// request read during shutdown, so Shutdown below need not
			// wait for busy connections first.
		})
		sv.start(errLog)
		return sv
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: s.ReadHeader,
		ReadTimeout:       s.Read,
		WriteTimeout:      s.Write,
		IdleTimeout:       s.Idle,
		MaxHeaderBytes:    s.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(errLog.Handler(), slog.LevelDebug),
		// Handlers see every request, including "OPTIONS *", and answer
		// with the gateway's own rules.
		DisableGeneralOptionsHandler: true,
	}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	if s.TLS {
		protocols.SetHTTP2(s.HTTP2)
		// Go's default suites are the modern AEAD ones with forward
		// secrecy; TLS 1.3 suites are not configurable. The server must see
		// the same NextProtos as the listener: net/http only serves h2 on
		// connections that negotiated it when its own config offers it.
		srv.TLSConfig = s.ServerTLS(getCert, nextProtos(s.HTTP2))
		ln = tls.NewListener(ln, srv.TLSConfig)
	} else if s.H2C {
		protocols.SetUnencryptedHTTP2(true)
	}
	srv.Protocols = protocols
	if protocols.HTTP2() || protocols.UnencryptedHTTP2() {
		if err := enableH2Check(srv, s.ReadHeader); err != nil {
			// Only if net/http changes how it installs HTTP/2: serve
			// with its defaults rather than not at all.
			errLog.Error("HTTP/2 conformance checks unavailable", "listener", s.Name, "error", err)
		}
	}
	if s.H2C && !s.TLS {
		ln = h2cListener{ln}
	}
	sv := &Server{Settings: s, srv: srv, ln: ln, done: make(chan struct{}), conns: map[net.Conn]http.ConnState{}}
	srv.ConnState = sv.track
	sv.start(errLog)
	return sv
}

// engine is what serves a listener's connections: net/http's server for
// TLS, HTTP/2 and h2c, h1server for plain HTTP/1.1.
type engine interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
	Close() error
	SetKeepAlivesEnabled(bool)
}

func (sv *Server) start(errLog *slog.Logger) {
	go func() {
		defer close(sv.done)
		if err := sv.srv.Serve(sv.ln); err != nil && err != http.ErrServerClosed && !errors.Is(err, net.ErrClosed) {
			errLog.Error("listener stopped", "listener", sv.Settings.Name, "address", sv.Settings.Address, "error", err)
		}
	}()
}

// ServerTLS is the server side TLS of these settings: minimum version,
// certificates from getCert (by SNI; reloadable without a new server),
// mTLS against the client CA bundle, and the ALPN protocols offered.
// HTTPS listeners and tls (L4) listeners share it.
func (s Settings) ServerTLS(getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), alpn []string) *tls.Config {
	c := &tls.Config{MinVersion: s.MinTLSVersion, GetCertificate: getCert, NextProtos: alpn}
	if s.ClientAuth != tls.NoClientCert {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(s.ClientCAPEM)) // checked by config
		c.ClientAuth, c.ClientCAs = s.ClientAuth, pool
	}
	return c
}

func nextProtos(h2 bool) []string {
	if h2 {
		return []string{"h2", "http/1.1"}
	}
	return []string{"http/1.1"}
}

// Addr is the bound address (useful when the config asked for port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// track keeps the set of busy (new or active) connections, so Shutdown
// can tell when only idle ones remain.
func (s *Server) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	switch st {
	case http.StateNew, http.StateActive:
		s.conns[c] = st
	default:
		delete(s.conns, c)
	}
	s.mu.Unlock()
}

func (s *Server) busy() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops the server without losing a request, then returns when
// in-flight requests have finished or ctx ends (then it closes the rest).
//
// http.Server.Shutdown alone is not enough: a connection accepted just
// before it, whose request is read just after, is closed without an answer
// (net/http drops requests read while shutting down). So first the
// listener stops handing out connections and keep-alives are turned off —
// idle connections close, busy ones close after their response — and only
// when no connection is busy does Shutdown run, to send HTTP/2 GOAWAY and
// close what is left, all idle.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ln.Close()
	s.srv.SetKeepAlivesEnabled(false)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.busy() > 0 {
		select {
		case <-ctx.Done():
			s.srv.Close()
			<-s.done
			return ctx.Err()
		case <-tick.C:
		}
	}
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}
