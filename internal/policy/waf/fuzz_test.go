package waf

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Whatever the body and its size against the limit, a request the WAF
// lets through reaches the upstream byte for byte, and nothing panics.
func FuzzBodyReplay(f *testing.F) {
	w, _ := newWAF(f, Config{RequestBodyLimit: 64, Mode: ModeDetect})
	f.Add([]byte("a=1&b=2"), "application/x-www-form-urlencoded")
	f.Add(bytes.Repeat([]byte("x"), 200), "application/json")
	f.Add([]byte(`{"a":[1,2,{"b":"<script>"}]}`), "application/json")
	f.Add([]byte("<a><b>1</b></a>"), "text/xml")
	f.Add([]byte("--x\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--x--\r\n"), "multipart/form-data; boundary=x")
	f.Fuzz(func(t *testing.T, body []byte, contentType string) {
		up := &upstream{}
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		rec := serve(w.Wrap(up), r)
		if rec.Code != http.StatusOK || !bytes.Equal(up.body, body) {
			t.Fatalf("status %d, upstream got %d of %d bytes", rec.Code, len(up.body), len(body))
		}
	})
}
