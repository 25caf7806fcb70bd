package problem

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
)

func TestWrite(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/nowhere", nil)
	rec.Header().Set("X-Request-Id", "abc")
	Write(rec, req, 404, `no route matches "/nowhere"`)
	if rec.Code != 404 {
		t.Fatalf("status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); ct != ContentType {
		t.Fatalf("content type %q", ct)
	}
	var d Details
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	want := Details{Type: "about:blank", Title: "Not Found", Status: 404, Detail: `no route matches "/nowhere"`, Instance: "/nowhere", RequestID: "abc"}
	if d != want {
		t.Fatalf("got %+v want %+v", d, want)
	}
	if got, want := rec.Header().Get("Content-Length"), "170"; got == "" || got == "0" {
		t.Fatalf("content-length %q (want non-empty, e.g. %s)", got, want)
	}
}
