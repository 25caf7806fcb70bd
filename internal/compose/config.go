package compose

import (
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/internal/expr"
)

// Defaults for the zero values of Config and Step.
const (
	// DefaultTimeout bounds a whole composition when Config.Timeout is
	// zero: several calls, but an interactive answer.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBodyBytes bounds each step's buffered response (1 MiB).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultConcurrency bounds a for_each step's calls in flight.
	DefaultConcurrency = 8
	// MaxConcurrency is the largest Concurrency allowed.
	MaxConcurrency = 64
	// DefaultMaxItems bounds a for_each array; a longer one is a step
	// error, not a silent truncation.
	DefaultMaxItems = 100
	// MaxItemsLimit is the largest MaxItems allowed.
	MaxItemsLimit = 10000
	// MaxSteps bounds the steps of one composition.
	MaxSteps = 32
	// MaxDepth bounds nested compositions (a route-relative step that
	// reaches a composing route): deeper answers 508 Loop Detected.
	MaxDepth = 4
	// MissingHeader lists the steps whose result is missing (omitted, or
	// replaced by their default) after a failure.
	MissingHeader = "Gatehouse-Missing-Steps"
)

// Strategy is how step results become one document.
type Strategy int

const (
	// Group puts each result under its step's key: {key: result}.
	Group Strategy = iota
	// Merge deep-merges object results in step order.
	Merge
	// Append makes an array of the results in step order; array results
	// are spread.
	Append
)

// OnError is what a failed step does to the answer.
type OnError int

const (
	// Fail answers 502 naming the step.
	Fail OnError = iota
	// Omit leaves the step's result out.
	Omit
	// UseDefault uses Step.Default instead.
	UseDefault
)

// Config is one composing route. Zero bounds mean their defaults.
type Config struct {
	// Route is the route's name, for sub-requests and messages.
	Route    string
	Strategy Strategy
	// Timeout bounds the whole composition; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes bounds each step response; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Steps are in configuration order, which is the merge order. Needs
	// must name earlier or later steps without cycles (config validates).
	Steps []Step
	// OnCollision, if set, counts a Merge key written by two results
	// (the later step wins). Validation refuses declared collisions; this
	// catches undeclared keys at run time.
	OnCollision func()
}

// Step is one backend call (or one per element with ForEach).
type Step struct {
	Name string
	// Send makes the call: a proxy to the step's upstream, or the
	// listener's entry for a route-relative step (Internal).
	Send http.Handler
	// Internal marks a route-relative step: its URL is a path of this
	// gateway, dispatched through Send with the depth guard.
	Internal bool
	// Method defaults to GET.
	Method string
	// URL renders the path and query; nil means "/".
	URL *expr.Template
	// Headers are set on the call, after ForwardHeaders are copied.
	Headers []Header
	// ForwardHeaders are client request headers copied to the call.
	ForwardHeaders []string
	// Body, if set, is sent as JSON (Content-Type: application/json).
	Body *Body
	// Timeout bounds one call; 0 means what remains of the composition.
	Timeout time.Duration
	// Needs are the steps this one waits for (indexes into Config.Steps
	// are resolved by New from names).
	Needs []string
	// ForEach, if set, yields the array the step fans out over; each
	// element is ${item} in its templates.
	ForEach func(*expr.Vars) any
	// Concurrency bounds ForEach calls in flight; 0 means
	// DefaultConcurrency.
	Concurrency int
	// MaxItems bounds the ForEach array; 0 means DefaultMaxItems.
	MaxItems int
	OnError  OnError
	// Default is the result used with UseDefault.
	Default any
	// When, if set, decides whether the step runs; false skips it (its
	// result is absent, and it is not listed as missing).
	When func(*expr.Vars) bool
	// Shape turns a decoded response into the step's result (target,
	// allow, deny, mapping); nil is the identity. For ForEach it applies
	// to each element's response.
	Shape func(any) (any, error)
	// Key is where Group puts the result (default Name); with Merge, a
	// non-empty Key wraps the result under it (dot path).
	Key string
	// Observe, if set, learns each step's outcome and duration (metrics).
	Observe func(Result, time.Duration)
}

// Header is one header a step sets.
type Header struct {
	Name  string
	Value *expr.Template
}

// Result is what became of one step.
type Result int

const (
	OK Result = iota
	Error
	Omitted
	Defaulted
	Skipped
)

// String is the metric label and access-log word of r.
func (r Result) String() string {
	switch r {
	case OK:
		return "ok"
	case Omitted:
		return "omitted"
	case Defaulted:
		return "default"
	case Skipped:
		return "skipped"
	}
	return "error"
}

// Results lists every Result, for pre-resolving metric children.
var Results = []Result{OK, Error, Omitted, Defaulted, Skipped}
