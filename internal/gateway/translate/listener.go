package translate

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/listener"
)

// ListenerParts is what a listener runs with.
type ListenerParts struct {
	Settings listener.Settings
	Certs    *listener.Certificates // nil for plain HTTP
	Trusted  listener.TrustedProxies
}

// Listener translates a listener and loads its certificates and client
// CA, reporting every problem at its line.
func Listener(lc *config.Listener) (ListenerParts, config.Errors) {
	l := ListenerParts{Trusted: listener.NewTrustedProxies(lc.TrustedProxies)}
	l.Settings = listener.Settings{
		Name: lc.Name, Address: lc.Address, TLS: lc.Protocol == "https",
		HTTP2: lc.HTTP2, H2C: lc.H2C,
		ReadHeader: lc.Timeouts.ReadHeader, Read: lc.Timeouts.Read, Write: lc.Timeouts.Write, Idle: lc.Timeouts.Idle,
		MaxHeaderBytes: int(lc.MaxHeaderBytes),
	}
	if p := lc.ProxyProtocol; p != nil {
		l.Settings.ProxyProtocol = listener.NewProxyAccept(p.Trusted, p.Timeout, p.Required)
	}
	if lc.TLS == nil {
		return l, nil
	}
	return l, listenerTLS(lc, &l)
}

// listenerTLS loads a TLS listener's certificates and client CA.
func listenerTLS(lc *config.Listener, l *ListenerParts) config.Errors {
	var errs config.Errors
	fail := func(pos config.Pos, format string, args ...any) {
		errs = append(errs, &config.Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
	l.Settings.MinTLSVersion = tls.VersionTLS12
	if lc.TLS.MinVersion == "1.3" {
		l.Settings.MinTLSVersion = tls.VersionTLS13
	}
	pairs := make([][2]string, len(lc.TLS.Certificates))
	for i, c := range lc.TLS.Certificates {
		pairs[i] = [2]string{c.CertFile, c.KeyFile}
	}
	if ca := lc.TLS.ClientAuth; ca != nil {
		l.Settings.ClientAuth = tls.RequireAndVerifyClientCert
		if ca.Mode == "request" {
			l.Settings.ClientAuth = tls.VerifyClientCertIfGiven
		}
		pem, err := os.ReadFile(ca.CAFile)
		if err != nil {
			fail(ca.Pos, "listener %q: client_auth: %v", lc.Name, err)
		}
		l.Settings.ClientCAPEM = string(pem)
	}
	certs, err := listener.LoadCertificates(pairs)
	if err != nil {
		fail(lc.Pos, "listener %q: %v", lc.Name, err)
	}
	l.Certs = certs
	return errs
}
