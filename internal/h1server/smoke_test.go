package h1server

import (
	"io"
	"net/http"
	"testing"
)

func TestSmoke(t *testing.T) {
	ts := startServer(t, http.HandlerFunc(hello), Config{})
	c := ts.client(t)
	for i := 0; i < 3; i++ {
		resp, err := c.Get(ts.url() + "/x")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "Hello, World!" || resp.ContentLength != 13 {
			t.Fatalf("got %q %d %v", b, resp.ContentLength, resp.Header)
		}
	}
	if n := ts.newConns(); n != 1 {
		t.Fatalf("%d connections", n)
	}
}
