package h1server

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// A client that goes away while a slow bodiless request is handled
// cancels the request's context (so a proxy cancels its upstream call).
func TestClientCloseCancelsSlowRequest(t *testing.T) {
	canceled := make(chan time.Duration, 1)
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		select {
		case <-r.Context().Done():
			canceled <- time.Since(start)
		case <-time.After(waitTimeout):
			canceled <- -1
		}
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	rc.nc.Close()
	select {
	case d := <-canceled:
		if d < 0 || d > watchDelay+2*time.Second {
			t.Fatalf("handler context canceled after %v", d)
		}
	case <-ctxWait(t).Done():
		t.Fatal("handler never saw the client go away")
	}
}

// A request pipelined behind a slow one is not lost to the watch that
// read its first byte.
func TestWatchKeepsPipelinedBytes(t *testing.T) {
	release := make(chan struct{})
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, r.URL.Path)
	}), Config{})
	rc := ts.dial(t)
	rc.send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(2 * watchDelay) // the watch is reading
	rc.send("GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(watchDelay / 2) // and has taken the 'G'
	close(release)
	for _, want := range []string{"/slow", "/next"} {
		if got := rc.body(rc.response("GET")); got != want {
			t.Fatalf("body %q, want %q", got, want)
		}
	}
}

// A slow request whose client stays answers normally and the
// connection is reused.
func TestWatchLeavesLiveClientsAlone(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(3 * watchDelay):
			case <-r.Context().Done():
				http.Error(w, "canceled", 500)
				return
			}
		}
		io.WriteString(w, "ok")
	}), Config{IdleTimeout: time.Minute})
	rc := ts.dial(t)
	for _, p := range []string{"/slow", "/fast", "/slow"} {
		rc.send("GET " + p + " HTTP/1.1\r\nHost: x\r\n\r\n")
		if got := rc.body(rc.response("GET")); got != "ok" {
			t.Fatalf("%s: %q", p, got)
		}
	}
	if n := ts.newConns(); n != 1 {
		t.Fatalf("%d connections, want 1 (keep-alive)", n)
	}
}
