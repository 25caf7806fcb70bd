package mirror

import (
	"io"
	"sync"
)

// tee passes the primary's request body through while keeping a copy of
// it, bounded by limit. The copy is dispatched the moment the body is
// complete (its declared length read, or EOF when none was declared), from
// whichever goroutine reads it: the primary's handler, or the transport's
// writer. The primary never waits for anything but the copy into buf.
type tee struct {
	src   io.ReadCloser
	want  int64 // declared length, -1 when unknown
	limit int64
	c     *copyReq

	mu    sync.Mutex // Read may run on the transport's goroutine while finish runs
	buf   []byte
	state teeState
}

type teeState int

const (
	teeReading teeState = iota
	teeSent             // the copy left with buf
	teeDropped          // too large, broken or incomplete: no copy
)

func newTee(src io.ReadCloser, want, limit int64, c *copyReq) *tee {
	t := &tee{src: src, want: want, limit: limit, c: c}
	if want > 0 {
		t.buf = make([]byte, 0, want) // want <= limit: checked by the caller
	}
	return t
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.src.Read(p)
	t.mu.Lock()
	if t.state != teeReading {
		t.mu.Unlock()
		return n, err
	}
	next := teeReading
	switch {
	case int64(len(t.buf))+int64(n) > t.limit:
		next = teeDropped
	default:
		t.buf = append(t.buf, p[:n]...)
		got := int64(len(t.buf))
		switch {
		case t.want >= 0 && got == t.want:
			next = teeSent
		case err == io.EOF && t.want < 0:
			next = teeSent
		case err != nil:
			next = teeDropped // short body or read error: not the request the client meant
		}
	}
	t.state = next
	body := t.buf
	if next == teeDropped {
		t.buf = nil
	}
	t.mu.Unlock()
	switch next {
	case teeSent:
		t.c.dispatch(body)
	case teeDropped:
		t.c.drop()
	}
	return n, err
}

func (t *tee) Close() error { return t.src.Close() }

// finish runs when the primary's handler returns: a body not complete by
// then will not be, as far as the copy is concerned.
func (t *tee) finish() {
	t.mu.Lock()
	pending := t.state == teeReading
	if pending {
		t.state, t.buf = teeDropped, nil
	}
	t.mu.Unlock()
	if pending {
		t.c.drop()
	}
}
