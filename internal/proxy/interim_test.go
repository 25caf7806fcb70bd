package proxy

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/h1client"
)

// TestEarlyHintsRelayed: a 103 from the upstream reaches HTTP/1.1 and
// HTTP/2 clients with the upstream's fields only, before the final
// response, through either upstream transport; the upstream's 100 is not
// relayed, and the final response does not inherit the 103's Link.
func TestEarlyHintsRelayed(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.Header().Set("Connection", "X-Secret")
		w.Header().Set("X-Secret", "hop")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		w.Header().Del("Connection")
		w.Header().Del("X-Secret")
		w.WriteHeader(http.StatusContinue)
		io.WriteString(w, "final")
	})
	h1 := h1client.New(h1client.Config{})
	t.Cleanup(h1.CloseIdleConnections)
	transports := map[string]http.RoundTripper{"net/http": testTransport(t), "h1client": h1}
	for tname, tr := range transports {
		for _, h2 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/h2=%v", tname, h2), func(t *testing.T) {
				handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("X-Gateway", "set before the proxy")
					New(Options{Pool: newPool(t, up.URL), Transport: tr, Logger: slog.New(slog.DiscardHandler)}).ServeHTTP(w, r)
				})
				s := httptest.NewUnstartedServer(handler)
				s.EnableHTTP2 = h2
				s.StartTLS()
				defer s.Close()
				var got []string
				trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					got = append(got, fmt.Sprintf("%d link=%q gw=%q secret=%q", code, h["Link"], h["X-Gateway"], h["X-Secret"]))
					return nil
				}}
				req, _ := http.NewRequest("GET", s.URL, nil)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
				res, err := s.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.ProtoMajor != map[bool]int{false: 1, true: 2}[h2] {
					t.Fatalf("client spoke %s", res.Proto)
				}
				if res.StatusCode != 200 || string(b) != "final" || res.Header.Get("Link") != "" || res.Header.Get("X-Gateway") == "" {
					t.Fatalf("final: %d %q %v", res.StatusCode, b, res.Header)
				}
				want := []string{`103 link=["</style.css>; rel=preload"] gw=[] secret=[]`}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("interim responses %q, want %q", got, want)
				}
			})
		}
	}
}

// TestNoInterimToHTTP10: an HTTP/1.0 client must not get a 1xx.
func TestNoInterimToHTTP10(t *testing.T) {
	up := upstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</a>")
		w.WriteHeader(http.StatusEarlyHints)
		io.WriteString(w, "final")
	})
	s := front(t, Options{Pool: newPool(t, up.URL)})
	c, err := net.Dial("tcp", hostOf(s))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.0\r\nHost: h\r\n\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.0 200") {
		t.Fatalf("first line %q %v", line, err)
	}
}
