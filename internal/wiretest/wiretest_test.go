package wiretest

import (
	"bufio"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestReadHeadExactBytes(t *testing.T) {
	br := bufio.NewReader(strings.NewReader("GET / HTTP/1.1\r\nA: 1\r\n\r\nrest"))
	if h, err := ReadHead(br); err != nil || h != "GET / HTTP/1.1\r\nA: 1\r\n\r\n" {
		t.Fatalf("%q %v", h, err)
	}
	if _, err := ReadHead(br); err == nil {
		t.Fatal("a truncated head must fail")
	}
}

func TestUnwantedFields(t *testing.T) {
	got := UnwantedFields("GET / HTTP/1.1\r\nHost: a\r\nUser-Agent:\r\nX-Ok: 1\r\nDate: now\r\n\r\n", "Date")
	if want := []string{"empty field: User-Agent:", "added: Date: now"}; !slices.Equal(got, want) {
		t.Fatalf("%q", got)
	}
}

func TestRecordingOrigin(t *testing.T) {
	url, heads := RecordingOrigin(t)
	resp, err := http.Get(url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := <-heads; !strings.HasPrefix(h, "GET /x HTTP/1.1\r\n") || !strings.HasSuffix(h, "\r\n\r\n") {
		t.Fatalf("%q", h)
	}
}
