package respwriter

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

type tagHook struct{ calls int }

func (h *tagHook) BeforeFinal(hdr http.Header, status int) {
	h.calls++
	hdr.Set("X-Final", http.StatusText(status))
}

// sink is a ResponseWriter that accepts 1xx before the final header, as
// net/http's servers do (httptest.ResponseRecorder takes a 1xx as final).
type sink struct {
	hdr   http.Header
	codes []int
	body  []byte
}

func (s *sink) Header() http.Header         { return s.hdr }
func (s *sink) WriteHeader(code int)        { s.codes = append(s.codes, code) }
func (s *sink) Write(p []byte) (int, error) { s.body = append(s.body, p...); return len(p), nil }

func TestWriterRecordsFinalStatusAndBytes(t *testing.T) {
	rec := &sink{hdr: http.Header{}}
	hook := &tagHook{}
	w := &Writer{ResponseWriter: rec, Hook: hook}
	w.WriteHeader(http.StatusEarlyHints) // interim: not recorded, no hook
	if w.Status != 0 || hook.calls != 0 {
		t.Fatalf("103 recorded: status %d, hook calls %d", w.Status, hook.calls)
	}
	w.Write([]byte("hello"))
	w.WriteHeader(http.StatusTeapot) // superfluous: ignored
	w.Write([]byte("!"))
	if w.Status != http.StatusOK || w.Bytes != 6 || hook.calls != 1 || rec.Header().Get("X-Final") != "OK" || len(rec.codes) != 3 {
		t.Fatalf("status %d bytes %d hook %d header %q", w.Status, w.Bytes, hook.calls, rec.Header().Get("X-Final"))
	}
}

func TestWriterFlushStartsResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	w := &Writer{ResponseWriter: rec}
	w.Flush()
	if w.Status != http.StatusOK || !rec.Flushed {
		t.Fatalf("status %d flushed %v", w.Status, rec.Flushed)
	}
	if http.NewResponseController(w).Flush() != nil {
		t.Fatal("ResponseController cannot flush through the writer")
	}
}

func TestWriterUpgradeIsFinal(t *testing.T) {
	w := &Writer{ResponseWriter: httptest.NewRecorder()}
	w.WriteHeader(http.StatusSwitchingProtocols)
	if w.Status != http.StatusSwitchingProtocols {
		t.Fatalf("101 not recorded: %d", w.Status)
	}
}

func TestWriterFinishEditsTheImplicitResponse(t *testing.T) {
	rec := httptest.NewRecorder()
	hook := &tagHook{}
	w := &Writer{ResponseWriter: rec, Hook: hook}
	w.Finish()
	w.Finish()
	if hook.calls != 1 || rec.Header().Get("X-Final") != "OK" || w.Status != http.StatusOK {
		t.Fatalf("hook calls %d, header %q, status %d", hook.calls, rec.Header().Get("X-Final"), w.Status)
	}
}
