// Package listener builds the HTTP(S) servers Gatehouse listens with: TLS
// with SNI, HTTP/2 over TLS, h2c, timeouts and header limits, and the
// trusted-proxy rules that decide who the client is.
package listener

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"time"
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
}

// Server is one running listener.
type Server struct {
	Settings Settings
	srv      *http.Server
	ln       net.Listener
	done     chan struct{}
}

// Serve starts serving h on ln in the background. getCert picks the TLS
// certificate (it may change on reload without a new server).
func Serve(ln net.Listener, s Settings, h http.Handler, getCert func(*tls.ClientHelloInfo) (*tls.Certificate, error), errLog *slog.Logger) *Server {
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
		srv.TLSConfig = &tls.Config{
			MinVersion:     s.MinTLSVersion,
			GetCertificate: getCert,
			NextProtos:     nextProtos(s.HTTP2),
		}
		ln = tls.NewListener(ln, srv.TLSConfig)
	} else if s.H2C {
		protocols.SetUnencryptedHTTP2(true)
	}
	srv.Protocols = protocols
	sv := &Server{Settings: s, srv: srv, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(sv.done)
		if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
			errLog.Error("listener stopped", "listener", s.Name, "address", s.Address, "error", err)
		}
	}()
	return sv
}

func nextProtos(h2 bool) []string {
	if h2 {
		return []string{"h2", "http/1.1"}
	}
	return []string{"http/1.1"}
}

// Addr is the bound address (useful when the config asked for port 0).
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Shutdown stops accepting, lets in-flight requests finish until ctx ends,
// then closes what remains.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		s.srv.Close()
	}
	<-s.done
	return err
}
