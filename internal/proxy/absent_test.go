package proxy

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/h1client"
	"github.com/gatehouse/gatehouse/internal/wiretest"
)

// checkAbsent fails if head carries a field the client did not send and
// the proxy has no business adding, or any field with an empty value.
func checkAbsent(t *testing.T, head string) {
	t.Helper()
	for _, bad := range wiretest.UnwantedFields(head, "User-Agent", "Accept-Encoding", "Accept", "Date", "Content-Length",
		"Transfer-Encoding", "Te", "Trailer", "Connection", "Expect", "Cookie", "Authorization") {
		t.Errorf("sent upstream: %s", bad)
	}
}

// TestAbsentHeadersStayAbsent: a request without User-Agent (or any other
// optional field) reaches the upstream without one, not with an empty one
// nor with a transport's default, whichever transport and client protocol.
func TestAbsentHeadersStayAbsent(t *testing.T) {
	originURL, heads := wiretest.RecordingOrigin(t)
	h1 := h1client.New(h1client.Config{})
	t.Cleanup(h1.CloseIdleConnections)
	for tname, tr := range map[string]http.RoundTripper{"net/http": testTransport(t), "h1client": h1} {
		p := New(Options{Pool: newPool(t, originURL), Transport: tr, Logger: slog.New(slog.DiscardHandler)})
		t.Run(tname+"/h1 client", func(t *testing.T) {
			s := httptest.NewServer(p)
			defer s.Close()
			raw(t, hostOf(s), "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
			checkAbsent(t, <-heads)
			// Present, even empty, stays as sent.
			raw(t, hostOf(s), "GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent: curl/8\r\n\r\n")
			if head := <-heads; !strings.Contains(head, "\r\nUser-Agent: curl/8\r\n") {
				t.Errorf("client's User-Agent not forwarded:\n%s", head)
			}
		})
		t.Run(tname+"/h2 client", func(t *testing.T) {
			s := httptest.NewUnstartedServer(p)
			s.EnableHTTP2 = true
			s.StartTLS()
			defer s.Close()
			ctr := s.Client().Transport.(*http.Transport)
			ctr.DisableCompression = true // no Accept-Encoding from the client
			req, _ := http.NewRequest("GET", s.URL+"/x", nil)
			req.Header["User-Agent"] = nil // Go's client sends none
			res, err := s.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.ProtoMajor != 2 {
				t.Fatalf("client spoke %s", res.Proto)
			}
			checkAbsent(t, <-heads)
		})
	}
}

// TestAbsentHeadersStayAbsentH2Upstream covers net/http's HTTP/2 client
// (https:// upstreams): HPACK hides the bytes, but an empty field would
// still reach the handler as a present key.
func TestAbsentHeadersStayAbsentH2Upstream(t *testing.T) {
	got := make(chan http.Header, 1)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 2 {
			w.WriteHeader(http.StatusHTTPVersionNotSupported)
		}
		got <- r.Header.Clone()
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	tr := NewTransport(TransportConfig{TLS: up.Client().Transport.(*http.Transport).TLSClientConfig, MaxIdlePerTarget: 4})
	defer tr.(IdleCloser).CloseIdleConnections()
	s := front(t, Options{Pool: newPool(t, up.URL), Transport: tr})
	res, _, _ := raw(t, hostOf(s), "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	h := <-got
	for _, k := range []string{"User-Agent", "Accept-Encoding", "Content-Length", "Date"} {
		if v, ok := h[k]; ok {
			t.Errorf("%s sent upstream: %q", k, v)
		}
	}
}
