package h1wire

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestParseChunkSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0\r\n", 0, true},
		{"1a3F\r\n", 0x1a3f, true},
		{"a;name=val\r\n", 10, true},
		{"a \t;ext\r\n", 10, true},
		{"fffffffffffffff\r\n", 1<<60 - 1, true},
		{"1000000000000000\r\n", 0, false}, // 16 digits: could overflow
		{"a\n", 0, false},                  // bare LF
		{"\r\n", 0, false},
		{"-1\r\n", 0, false},
		{"0x1\r\n", 0, false},
		{"a;ext\x00\r\n", 0, false},
		{";ext\r\n", 0, false},
	} {
		n, err := ParseChunkSize([]byte(tc.in))
		if tc.ok != (err == nil) || n != tc.want {
			t.Errorf("ParseChunkSize(%q) = %d, %v; want %d, ok=%v", tc.in, n, err, tc.want, tc.ok)
		}
		if err != nil && err != ErrChunkSize {
			t.Errorf("ParseChunkSize(%q) error %v, want ErrChunkSize", tc.in, err)
		}
	}
}

func readChunked(in string, bufSize int, rejectFraming bool) (string, http.Header, error) {
	var tr http.Header
	cr := ChunkedReader{
		BR:                    bufio.NewReaderSize(strings.NewReader(in), bufSize),
		Trailer:               &tr,
		MaxTrailer:            64,
		RejectFramingTrailers: rejectFraming,
	}
	b, err := io.ReadAll(&cr)
	return string(b), tr, err
}

func TestChunkedReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		reject   bool
		body     string
		trailer  http.Header
		err      error
	}{
		{name: "plain", in: "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", body: "abcde"},
		{name: "trailers", in: "1\r\nx\r\n0\r\nx-sum: \t1 \r\nX-Sum: 2\r\n\r\n", body: "x",
			trailer: http.Header{"X-Sum": {"1", "2"}}},
		{name: "no CRLF after data", in: "1\r\nxy\r\n0\r\n\r\n", err: ErrChunkDataEnd},
		{name: "bare LF size", in: "1\nx\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "truncated data", in: "5\r\nab", err: io.ErrUnexpectedEOF},
		{name: "truncated framing", in: "1\r\nx\r\n", err: io.ErrUnexpectedEOF},
		{name: "bad trailer name", in: "0\r\nx y: 1\r\n\r\n", err: ErrTrailerLine},
		{name: "trailer ctl", in: "0\r\nX: a\x01\r\n\r\n", err: ErrTrailerLine},
		{name: "trailer bare LF", in: "0\r\nX: 1\n\r\n", err: ErrTrailerLine},
		{name: "trailers too large", in: "0\r\n" + strings.Repeat("X: "+strings.Repeat("a", 30)+"\r\n", 2) + "\r\n", err: ErrTrailerTooLarge},
		// Lines longer than the bufio buffer (64 here) are refused outright.
		{name: "trailer line too long", in: "0\r\nX: " + strings.Repeat("a", 100) + "\r\n\r\n", err: ErrTrailerLine},
		{name: "size line too long", in: strings.Repeat("0", 80) + "1\r\nx\r\n0\r\n\r\n", err: ErrChunkSize},
		{name: "framing trailer allowed", in: "0\r\nContent-Length: 5\r\n\r\n",
			trailer: http.Header{"Content-Length": {"5"}}},
		{name: "framing trailer refused", in: "0\r\nContent-Length: 5\r\n\r\n", reject: true, err: ErrTrailerLine},
		{name: "host trailer refused", in: "0\r\nhost: x\r\n\r\n", reject: true, err: ErrTrailerLine},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, tr, err := readChunked(tc.in, 64, tc.reject)
			if err != tc.err {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if body != tc.body {
				t.Errorf("body = %q, want %q", body, tc.body)
			}
			if len(tr) != len(tc.trailer) {
				t.Fatalf("trailer = %v, want %v", tr, tc.trailer)
			}
			for k, v := range tc.trailer {
				if strings.Join(tr[k], ",") != strings.Join(v, ",") {
					t.Errorf("trailer[%q] = %q, want %q", k, tr[k], v)
				}
			}
		})
	}
}

// TestChunkedReaderNoBlock checks that once a Read has data it returns
// rather than reading more framing from the network, so streamed chunks
// reach the caller as they arrive.
func TestChunkedReaderNoBlock(t *testing.T) {
	pr, pw := io.Pipe()
	go pw.Write([]byte("3\r\nabc\r\n")) // the next size line never comes
	cr := ChunkedReader{BR: bufio.NewReader(pr), Trailer: new(http.Header), MaxTrailer: 64}
	buf := make([]byte, 64)
	n, err := cr.Read(buf)
	if n != 3 || err != nil || string(buf[:n]) != "abc" {
		t.Fatalf("Read = %d, %v (%q); want 3, nil", n, err, buf[:n])
	}
	pw.Close()
}

func TestChunkedReaderAllocs(t *testing.T) {
	in := strings.Repeat("4\r\nabcd\r\n", 8) + "0\r\n\r\n"
	sr := strings.NewReader(in)
	br := bufio.NewReader(sr)
	var tr http.Header
	buf := make([]byte, 64)
	allocs := testing.AllocsPerRun(100, func() {
		sr.Reset(in)
		br.Reset(sr)
		cr := ChunkedReader{BR: br, Trailer: &tr, MaxTrailer: 64}
		for {
			if _, err := cr.Read(buf); err != nil {
				break
			}
		}
	})
	if allocs != 0 {
		t.Errorf("allocs per body = %v, want 0", allocs)
	}
}

func TestParseFieldLine(t *testing.T) {
	for _, tc := range []struct {
		in, key, val string
		ferr         FieldError
	}{
		{"content-TYPE: \t text/plain \t", "Content-Type", "text/plain", FieldOK},
		{"x-a-b:", "X-A-B", "", FieldOK},
		{": v", "", "", FieldBadLine},
		{"no colon", "", "", FieldBadLine},
		{"bad name: v", "", "", FieldBadLine},
		{"X: a\x00b", "", "", FieldBadValue},
		{"X: a\x7f", "", "", FieldBadValue},
	} {
		b := []byte("pre" + tc.in)
		colon, vs, ve, ferr := ParseFieldLine(b, 3, len(b))
		if ferr != tc.ferr {
			t.Errorf("ParseFieldLine(%q) = %v, want %v", tc.in, ferr, tc.ferr)
			continue
		}
		if ferr == FieldOK && (string(b[3:colon]) != tc.key || string(b[vs:ve]) != tc.val) {
			t.Errorf("ParseFieldLine(%q) = %q, %q; want %q, %q", tc.in, b[3:colon], b[vs:ve], tc.key, tc.val)
		}
	}
}

func TestText(t *testing.T) {
	for s, want := range map[string]bool{"GET": true, "x-y_z~!": true, "": false, "a b": false, "a:": false, "é": false} {
		if IsToken(s) != want || IsTokenBytes([]byte(s)) != want {
			t.Errorf("IsToken(%q) != %v", s, want)
		}
	}
	for s, want := range map[string]bool{"a\tb c": true, "": true, "a\r\nX: y": false, "\x00": false, "\x7f": false, "\x80ok": true} {
		if ValidFieldValue(s) != want || ValidFieldValueBytes([]byte(s)) != want {
			t.Errorf("ValidFieldValue(%q) != %v", s, want)
		}
	}
	if !HasToken("keep-alive , Close", "close") || HasToken("closed, x", "close") || HasToken("", "close") {
		t.Error("HasToken")
	}
	for s, want := range map[string]int64{"0": 0, "123": 123, "999999999999999999": 999999999999999999} {
		if n, ok := ParseDecimal(s); !ok || n != want {
			t.Errorf("ParseDecimal(%q) = %d, %v", s, n, ok)
		}
	}
	for _, s := range []string{"", "+1", " 1", "1 ", "0x1", "1000000000000000000"} {
		if _, ok := ParseDecimal(s); ok {
			t.Errorf("ParseDecimal(%q) accepted", s)
		}
	}
	if got := string(TrimOWS([]byte(" \t a b \t"))); got != "a b" {
		t.Errorf("TrimOWS = %q", got)
	}
}

func TestChunkErrorsMap(t *testing.T) {
	mine := errors.New("mine")
	e := &ChunkErrors{Size: mine, DataEnd: mine, TrailerLine: mine, TrailerTooLarge: mine}
	for _, err := range []error{ErrChunkSize, ErrChunkDataEnd, ErrTrailerLine, ErrTrailerTooLarge} {
		if e.Map(err) != mine {
			t.Errorf("%v not mapped", err)
		}
	}
	if e.Map(io.EOF) != io.EOF || e.Map(nil) != nil {
		t.Error("other errors must pass unchanged")
	}
}
