package reqinfo

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// afterCtx is a context that is not one of the standard library's, but
// offers AfterFunc, like h1server's request context.
type afterCtx struct {
	context.Context
	done chan struct{}
	fs   []func()
}

func (c *afterCtx) Done() <-chan struct{} { return c.done }
func (c *afterCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}
func (c *afterCtx) AfterFunc(f func()) func() bool {
	c.fs = append(c.fs, f)
	return func() bool { return true }
}
func (c *afterCtx) cancel() {
	close(c.done)
	for _, f := range c.fs {
		f()
	}
}

func TestContextCarriesInfo(t *testing.T) {
	info := &Info{Route: "r"}
	ctx := NewContext(context.WithValue(context.Background(), "other", 1), info)
	if FromContext(ctx) != info || ctx.Value("other") != 1 || FromContext(context.Background()) != nil {
		t.Fatal("values not carried")
	}
}

// A timeout under the info context must neither start a goroutine nor
// miss the parent's cancellation.
func TestTimeoutUnderInfoContextStartsNoGoroutine(t *testing.T) {
	parent := &afterCtx{Context: context.Background(), done: make(chan struct{})}
	ctx := NewContext(parent, &Info{})
	before := runtime.NumGoroutine()
	child, cancel := context.WithTimeout(ctx, time.Hour)
	defer cancel()
	if n := runtime.NumGoroutine(); n != before {
		t.Fatalf("WithTimeout started %d goroutines", n-before)
	}
	parent.cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("child not canceled with its parent")
	}
}
