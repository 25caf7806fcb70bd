package limits

import (
	"errors"
	"io"
	"strconv"
	"sync/atomic"
)

// ErrBodyTooLarge is matched (errors.Is) by every error returned when a
// request body exceeds its limit.
var ErrBodyTooLarge = errors.New("request body too large")

// TooLargeError is the error a limited body returns once more than Limit
// bytes were sent.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string {
	return "request body larger than " + strconv.FormatInt(e.Limit, 10) + " bytes"
}

// Is makes errors.Is(err, ErrBodyTooLarge) hold.
func (e *TooLargeError) Is(target error) bool { return target == ErrBodyTooLarge }

// body passes at most limit bytes of rc, then fails with *TooLargeError.
//
// Read may run on another goroutine than the handler's (the HTTP client
// writes request bodies from its own), so exceeded, which the response
// writer reads, is atomic.
type body struct {
	rc       io.ReadCloser
	left     int64 // bytes still allowed
	limit    int64
	err      error // sticky read error
	exceeded atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed, to tell "exactly at the limit"
	// from "over it" without another call.
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) <= b.left {
		b.left -= int64(n)
		if err != nil {
			b.err = err
		}
		return n, err
	}
	n = int(b.left)
	b.left = 0
	b.err = &TooLargeError{Limit: b.limit}
	b.exceeded.Store(true)
	return n, b.err
}

func (b *body) Close() error { return b.rc.Close() }
