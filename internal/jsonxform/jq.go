package jsonxform

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"time"

	"github.com/itchyny/gojq"
)

// jqProgram is a compiled jq program with its time bound.
type jqProgram struct {
	code    *gojq.Code
	timeout time.Duration
}

// compileJQ parses and compiles src. The environment is empty ($ENV,
// env): a program in the configuration must not be able to copy the
// gateway's secrets into a body. Modules cannot be loaded (no loader).
func compileJQ(src string, timeout time.Duration) (*jqProgram, error) {
	q, err := gojq.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("jq: %v", err)
	}
	code, err := gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }))
	if err != nil {
		return nil, fmt.Errorf("jq: %v", err)
	}
	return &jqProgram{code: code, timeout: timeout}, nil
}

// CompileJQ reports whether src is a valid jq program, with gojq's
// message when it is not (for fuzzing and the configuration's checks).
func CompileJQ(src string) error {
	_, err := compileJQ(src, DefaultJQTimeout)
	return err
}

// ErrJQTimeout is a jq run stopped by its time bound or the caller's
// context.
var ErrJQTimeout = errors.New("jq: program did not finish in time")

// run takes the program's first output only: that bounds the outputs to
// one, and a program that would go on producing more (repeat(1)) is
// never asked for them.
func (p *jqProgram) run(ctx context.Context, doc any) (out any, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	defer func() {
		// gojq panics on values outside its types; Apply only passes
		// JSON values, but a panic here would take the request's
		// connection with it, so it becomes an error.
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("jq: %v", r)
		}
	}()
	it := p.code.RunWithContext(ctx, doc)
	v, ok := it.Next()
	if !ok {
		return nil, nil
	}
	if e, isErr := v.(error); isErr {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %v", ErrJQTimeout, ctx.Err())
		}
		var h *gojq.HaltError
		if errors.As(e, &h) && h.Value() == nil {
			return nil, nil // halt: no output
		}
		return nil, fmt.Errorf("jq: %v", e)
	}
	return finite(v), nil
}

// finite replaces what JSON cannot encode in a jq result as jq's own
// encoder does: NaN becomes null, infinities the largest finite numbers.
// Containers are copied only when something in them changes: gojq may
// return values it shares between runs (constants in the program).
func finite(v any) any {
	switch c := v.(type) {
	case float64:
		switch {
		case math.IsNaN(c):
			return nil
		case math.IsInf(c, 1):
			return math.MaxFloat64
		case math.IsInf(c, -1):
			return -math.MaxFloat64
		}
	case []any:
		var out []any
		for i, x := range c {
			if y := finite(x); !same(x, y) {
				if out == nil {
					out = slices.Clone(c)
				}
				out[i] = y
			}
		}
		if out != nil {
			return out
		}
	case map[string]any:
		var out map[string]any
		for k, x := range c {
			if y := finite(x); !same(x, y) {
				if out == nil {
					out = maps.Clone(c)
				}
				out[k] = y
			}
		}
		if out != nil {
			return out
		}
	}
	return v
}

// same reports whether finite left x as it was: only floats and
// containers can change, and a changed container is a new one.
func same(x, y any) bool {
	switch a := x.(type) {
	case float64:
		b, ok := y.(float64)
		return ok && a == b
	case []any:
		b, ok := y.([]any)
		return ok && len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
	case map[string]any:
		b, ok := y.(map[string]any)
		return ok && reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
	}
	return true
}
