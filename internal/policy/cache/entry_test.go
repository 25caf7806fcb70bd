package cache

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

func TestEntryRoundTrip(t *testing.T) {
	h := http.Header{
		"Content-Type":      {"text/plain"},
		"Etag":              {`"x"`},
		"Last-Modified":     {"Mon, 01 Jan 2024 00:00:00 GMT"},
		"Vary":              {"Accept-Encoding, accept"},
		"X-Multi":           {"a", "b"},
		"Connection":        {"X-Hop"},
		"X-Hop":             {"dropped"},
		"Transfer-Encoding": {"chunked"},
		"Set-Cookie":        {"a=b"},
		"Content-Length":    {"4"},
		"Age":               {"3"},
	}
	e := &entry{
		status: 203, fields: storedFields(h, nil), body: []byte("body"),
		stored: time.Unix(1700000000, 123), lifetime: time.Minute, swr: 2 * time.Second,
		sie: 3 * time.Second, age0: 4 * time.Second, noCache: true, noStale: true,
	}
	e.derive()
	got, vary, err := decodeRecord(encodeEntry(e))
	if err != nil || vary != nil {
		t.Fatal(err, vary)
	}
	if !reflect.DeepEqual(got, e) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, e)
	}
	names := []string{}
	for _, f := range got.fields {
		names = append(names, f.name)
	}
	if want := []string{"Content-Type", "Etag", "Last-Modified", "Vary", "X-Multi"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("stored headers %v, want %v", names, want)
	}
	if !reflect.DeepEqual(got.vary, []string{"Accept-Encoding", "Accept"}) || got.etag != `"x"` {
		t.Fatalf("derived %v %q", got.vary, got.etag)
	}
	// Values are capped: appending cannot write into a neighbour.
	_ = append(got.fields[3].vals, "overwrite")
	if got.fields[4].vals[0] != "a" {
		t.Fatal("shared backing array")
	}
	_, vary, err = decodeRecord(encodeVaryIndex([]string{"Accept", "X-A"}))
	if err != nil || !reflect.DeepEqual(vary, []string{"Accept", "X-A"}) {
		t.Fatal(vary, err)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	e := &entry{status: 200, fields: []field{{"A", []string{"b"}}}, body: []byte("x")}
	good := encodeEntry(e)
	for i := range len(good) - 1 { // every truncation of the header part fails cleanly
		if i == 0 {
			continue
		}
		decodeRecord(good[:i]) // must not panic
	}
	for _, b := range [][]byte{nil, {0}, {kindVaryIndex}, {kindVaryIndex, 0}, {kindResponse, 50}} {
		if _, _, err := decodeRecord(b); err == nil {
			t.Errorf("%v decoded", b)
		}
	}
}
