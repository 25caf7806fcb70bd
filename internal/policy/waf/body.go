package waf

import (
	"errors"
	"io"
	"sync"
)

// replayBody is the request body handed to the next handler: the prefix
// Coraza buffered and inspected, then the unread rest of the original body.
// Only the prefix is ever buffered, so memory stays within the limit.
type replayBody struct {
	mu       sync.Mutex
	prefix   io.Reader // Coraza's buffer; valid until detach
	rest     io.ReadCloser
	detached bool
}

// errBodyDetached is returned when the body is read after the WAF finished
// the request, by which time Coraza has recycled its buffer.
var errBodyDetached = errors.New("waf: request body read after the handler returned")

// Read reads the prefix, then the rest. The lock only guards against a
// read racing detach; reads of one body are sequential.
func (b *replayBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.detached {
		return 0, errBodyDetached
	}
	if b.prefix != nil {
		n, err := b.prefix.Read(p)
		if err == io.EOF {
			b.prefix = nil
			err = nil
		}
		if n > 0 || err != nil {
			return n, err
		}
	}
	return b.rest.Read(p)
}

// Close closes the original body.
func (b *replayBody) Close() error {
	return b.rest.Close()
}

// detach forbids further reads; called before the transaction is closed.
func (b *replayBody) detach() {
	b.mu.Lock()
	b.detached = true
	b.prefix = nil
	b.mu.Unlock()
}
