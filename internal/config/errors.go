package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Pos is where an element was defined.
type Pos struct {
	File string
	Line int
}

// String renders "file:line", or as much of it as is known.
func (p Pos) String() string {
	switch {
	case p.Line > 0 && p.File != "":
		return p.File + ":" + strconv.Itoa(p.Line)
	case p.Line > 0:
		return "line " + strconv.Itoa(p.Line)
	default:
		return p.File
	}
}

// Error is one problem in the configuration.
type Error struct {
	Pos
	Msg string
	// Hint says what to do about it; it may be empty.
	Hint string
}

// Error renders "file:line: msg" or "file:line: msg (hint)".
func (e *Error) Error() string {
	var b strings.Builder
	if p := e.Pos.String(); p != "" {
		b.WriteString(p)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Errors is every problem found, sorted by file then line, so a user fixes
// a whole file in one pass instead of one error per run.
type Errors []*Error

// Error joins every problem with newlines.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes the individual problems to errors.Is and errors.As.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// maxErrors bounds the report: a file that is not a Gatehouse config at
// all (or an adversarial one) would otherwise yield an endless list.
const maxErrors = 1000

// collector accumulates problems while decoding and validating. Identical
// problems are kept once: an anchor with a bad value that is aliased many
// times is one mistake, not many.
type collector struct {
	errs      Errors
	seen      map[Error]bool
	truncated bool
}

func (c *collector) add(p Pos, hint, format string, args ...any) {
	e := Error{Pos: p, Msg: fmt.Sprintf(format, args...), Hint: hint}
	if c.seen[e] {
		return
	}
	if len(c.errs) >= maxErrors {
		c.truncated = true
		return
	}
	if c.seen == nil {
		c.seen = make(map[Error]bool)
	}
	c.seen[e] = true
	c.errs = append(c.errs, &e)
}

// result returns the problems sorted by file then line, or nil.
func (c *collector) result() error {
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(i, j int) bool {
		a, b := c.errs[i], c.errs[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	out := c.errs
	if c.truncated {
		last := out[len(out)-1]
		out = append(out, &Error{Pos: Pos{File: last.File}, Msg: fmt.Sprintf("too many problems; only the first %d are shown", maxErrors),
			Hint: "fix these and run again"})
	}
	return out
}

// problem is a message and hint without a position yet; value parsers
// return it and the decoder adds file, line and owner.
type problem struct {
	msg, hint string
}

func (p *problem) Error() string { return p.msg }

func newProblem(hint, format string, args ...any) *problem {
	return &problem{msg: fmt.Sprintf(format, args...), hint: hint}
}
