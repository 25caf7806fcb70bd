package proxy

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestNewTransportSettings(t *testing.T) {
	ca := &tls.Config{ServerName: "api.internal"}
	rt := NewTransport(TransportConfig{
		Protocol: ProtocolAuto, TLS: ca, ConnectTimeout: 3 * time.Second, IdleTimeout: time.Minute,
		ResponseHeaderTimeout: 7 * time.Second, MaxIdlePerTarget: 100,
	})
	tr, ok := rt.(*http.Transport)
	if !ok {
		t.Fatalf("%T", rt)
	}
	switch {
	case tr.MaxIdleConnsPerHost != 100, tr.MaxIdleConns != 0, tr.DisableKeepAlives:
		t.Errorf("idle pool: per host %d, total %d, keep-alive off %v", tr.MaxIdleConnsPerHost, tr.MaxIdleConns, tr.DisableKeepAlives)
	case !tr.DisableCompression:
		t.Error("compression enabled")
	case tr.Proxy != nil:
		t.Error("environment proxy used")
	case tr.IdleConnTimeout != time.Minute, tr.ResponseHeaderTimeout != 7*time.Second,
		tr.ExpectContinueTimeout != time.Second, tr.TLSHandshakeTimeout != 3*time.Second:
		t.Error("timeouts not applied")
	case tr.ReadBufferSize != 32<<10, tr.WriteBufferSize != 32<<10:
		t.Error("buffer sizes")
	case tr.TLSClientConfig == ca || tr.TLSClientConfig.ServerName != "api.internal":
		t.Error("TLS config not cloned")
	case !tr.ForceAttemptHTTP2 || !tr.Protocols.HTTP1() || !tr.Protocols.HTTP2() || tr.Protocols.UnencryptedHTTP2():
		t.Errorf("auto protocols %v", tr.Protocols)
	}

	h1 := NewTransport(TransportConfig{Protocol: ProtocolHTTP1}).(*http.Transport)
	if h1.ForceAttemptHTTP2 || h1.Protocols.HTTP2() || !h1.Protocols.HTTP1() {
		t.Errorf("http1 protocols %v", h1.Protocols)
	}
	if !h1.DisableKeepAlives {
		t.Error("MaxIdlePerTarget 0 must keep no idle connections")
	}
	h2 := NewTransport(TransportConfig{Protocol: ProtocolHTTP2}).(*http.Transport)
	if h2.ForceAttemptHTTP2 || h2.Protocols.HTTP1() || !h2.Protocols.HTTP2() || !h2.Protocols.UnencryptedHTTP2() {
		t.Errorf("http2 protocols %v", h2.Protocols)
	}
}

func TestConnectionsAreReused(t *testing.T) {
	var conns atomic.Int32
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	up.Start()
	defer up.Close()
	s := front(t, Options{Pool: newPool(t, up.URL)})
	for range 10 {
		res, err := http.Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d upstream connections for 10 sequential requests", n)
	}
}
