package e2e

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestClientDisconnectCancelsUpstream: a client that goes away while its
// request waits on a slow upstream cancels the upstream request, on the
// plain HTTP listener (the synchronous h1 server) as on TLS and h2.
func TestClientDisconnectCancelsUpstream(t *testing.T) {
	b := newBackend(t, "b")
	addr := freeAddr(t)
	startGateway(t, oneUpstream(addr, b.url, `
routes:
  - name: all
    backend: {upstream: be}
`))
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(nc, "GET /slow?hold=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	select {
	case <-b.slowStarted:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached the backend")
	}
	start := time.Now()
	nc.Close()
	select {
	case <-b.slowCanceled:
		t.Logf("upstream request canceled %v after the client closed", time.Since(start).Round(time.Millisecond))
	case <-time.After(10 * time.Second):
		t.Fatal("the upstream request was not canceled when the client went away")
	}
}
