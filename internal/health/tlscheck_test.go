package health

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/balancer"
)

// probeTLS runs one tls check of target with cfg.
func probeTLS(t *testing.T, cfg CheckConfig, target string) error {
	t.Helper()
	cfg.Type = CheckTLS
	return probeOnce(t, cfg, target, 10*time.Second, func(c CheckConfig) prober { return newTLSProber(c) })
}

// TestTLSCheck: healthy only when a TLS handshake completes with a
// certificate verified for the server name (Host, else TLS.ServerName), or
// with verification off; a plain-TCP server and a closed port fail.
func TestTLSCheck(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "https://")
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	if err := probeTLS(t, CheckConfig{TLS: &tls.Config{RootCAs: roots}, Host: "example.com"}, "tcp://"+addr); err != nil {
		t.Fatalf("trusted certificate, name from Host: %v", err)
	}
	if err := probeTLS(t, CheckConfig{TLS: &tls.Config{RootCAs: roots, ServerName: "example.com"}}, "tcp://"+addr); err != nil {
		t.Fatalf("trusted certificate, name from TLS.ServerName: %v", err)
	}
	if err := probeTLS(t, CheckConfig{TLS: &tls.Config{RootCAs: roots}, Host: "not-in-cert.test"}, "tcp://"+addr); err == nil {
		t.Fatal("certificate accepted for a server name it does not carry")
	}
	if err := probeTLS(t, CheckConfig{Host: "example.com"}, "tcp://"+addr); err == nil {
		t.Fatal("untrusted certificate accepted with system roots")
	}
	if err := probeTLS(t, CheckConfig{TLS: &tls.Config{InsecureSkipVerify: true}}, "tcp://"+addr); err != nil {
		t.Fatalf("verification off: %v", err)
	}

	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer plain.Close()
	if err := probeTLS(t, CheckConfig{TLS: &tls.Config{InsecureSkipVerify: true}}, "tcp://"+strings.TrimPrefix(plain.URL, "http://")); err == nil {
		t.Fatal("a plain HTTP server passed the TLS check")
	}
	if err := probeTLS(t, CheckConfig{TLS: &tls.Config{InsecureSkipVerify: true}}, "tcp://"+closedAddr(t)); err == nil {
		t.Fatal("a closed port passed the TLS check")
	}
}

// TestTLSChecker: NewChecker runs the tls check for Type "tls": a target
// that speaks plain TCP goes down, a TLS one stays up.
func TestTLSChecker(t *testing.T) {
	var handshakes atomic.Int64
	good := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	good.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			handshakes.Add(1)
		}
	}
	good.Config.ErrorLog = log.New(io.Discard, "", 0)
	good.StartTLS()
	defer good.Close()
	bad := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer bad.Close()
	reg, _, _ := testRegistry(t)
	up := newTarget(t, "tcp://"+strings.TrimPrefix(good.URL, "https://"))
	down := newTarget(t, "tcp://"+strings.TrimPrefix(bad.URL, "http://"))
	c, err := NewChecker(reg, fastCheck(CheckConfig{Type: "TLS", UnhealthyThreshold: 2, TLS: &tls.Config{InsecureSkipVerify: true}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	c.Update([]*balancer.Target{up, down})
	waitFor(t, "plain-TCP target to go down", func() bool { return !down.Available() })
	// Checks of one target run in sequence, so a fourth connection proves
	// three results recorded: more than UnhealthyThreshold.
	waitFor(t, "four checks of the TLS target", func() bool { return handshakes.Load() >= 4 })
	if !up.Available() {
		t.Fatal("TLS target went down")
	}
}
