package h1server

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// reqCtx is a request's context in one allocation (it lives inside the
// exchange). Its Done channel is made only when someone asks for it, and it
// implements AfterFunc so that context.WithCancel/WithTimeout children and
// context.AfterFunc register a callback instead of starting a goroutine to
// watch Done.
//
// It is canceled when the handler returns, when a write to the client fails
// (the client went away), when the connection is closed by Server.Close,
// and when the close watch (watch.go) sees the client go away during a
// slow bodiless request.
type reqCtx struct {
	mu    sync.Mutex
	done  chan struct{}
	err   error
	funcs []*afterFunc
	laddr net.Addr
}

type afterFunc struct {
	f    func()
	used bool // ran or stopped
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *reqCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

func (c *reqCtx) Done() <-chan struct{} {
	c.mu.Lock()
	if c.done == nil {
		if c.err != nil {
			c.done = closedChan
		} else {
			c.done = make(chan struct{})
		}
	}
	d := c.done
	c.mu.Unlock()
	return d
}

func (c *reqCtx) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	return err
}

// Value answers http.LocalAddrContextKey like net/http does.
// http.ServerContextKey has no value: there is no *http.Server.
func (c *reqCtx) Value(key any) any {
	if key == http.LocalAddrContextKey {
		return c.laddr
	}
	return nil
}

func (c *reqCtx) String() string { return "h1server.requestContext" }

// AfterFunc arranges for f to run once c is canceled. The context package
// uses it (through an unexported interface) for children of c. f runs on
// the canceling goroutine, not a new one: the context package's callbacks
// only cancel a child, and context.AfterFunc's own wrapper starts its
// goroutine itself.
func (c *reqCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	a := &afterFunc{f: f}
	c.funcs = append(c.funcs, a)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if a.used {
			return false
		}
		a.used = true
		for i, x := range c.funcs {
			if x == a {
				c.funcs = append(c.funcs[:i], c.funcs[i+1:]...)
				break
			}
		}
		return true
	}
}

func (c *reqCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done == nil {
		c.done = closedChan
	} else {
		close(c.done)
	}
	funcs := c.funcs
	c.funcs = nil
	var run []func()
	for _, a := range funcs {
		if !a.used {
			a.used = true
			run = append(run, a.f)
		}
	}
	c.mu.Unlock()
	for _, f := range run {
		f()
	}
}

var _ context.Context = (*reqCtx)(nil)
