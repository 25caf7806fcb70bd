package expr

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	"github.com/google/cel-go/common/types"
)

// CostLimit bounds one evaluation of a condition, in CEL's abstract cost
// units (about one per operation, more for string work proportional to
// the length). A condition whose worst case, estimated at load, stays
// under it runs without run-time cost tracking; any other is tracked and
// stopped (evaluating to false) when it exceeds the limit. 100 000 is
// far above any realistic header/claim check and well below a
// millisecond of CPU.
const CostLimit = 100_000

// maxConditionLen bounds the source of a condition; CEL's parser also
// bounds recursion depth.
const maxConditionLen = 4096

// Condition is a compiled CEL boolean expression over request variables
// (see CompileCondition). It is safe for concurrent use.
type Condition struct {
	src  string
	prg  cel.Program
	errs atomic.Uint64
}

// variable declarations by name; scope is the scope that must be present
// for the variable to have a value.
var condVars = []struct {
	name  string
	typ   *cel.Type
	scope Scope
	why   string
}{
	{"method", cel.StringType, ScopeRequest, ""},
	{"scheme", cel.StringType, ScopeRequest, ""},
	{"host", cel.StringType, ScopeRequest, ""},
	{"path", cel.StringType, ScopeRequest, ""},
	{"route", cel.StringType, ScopeRequest, ""},
	{"request_id", cel.StringType, ScopeRequest, ""},
	{"client_ip", cel.StringType, ScopeRequest, ""},
	{"header", cel.MapType(cel.StringType, cel.StringType), ScopeRequest, ""},
	{"query", cel.MapType(cel.StringType, cel.StringType), ScopeRequest, ""},
	{"param", cel.MapType(cel.StringType, cel.StringType), ScopeRequest, ""},
	{"consumer", cel.MapType(cel.StringType, cel.DynType), ScopeRequest, ""},
	{"jwt", cel.MapType(cel.StringType, cel.DynType), ScopeRequest, ""},
	{"now", cel.TimestampType, ScopeRequest, ""},
	{"status", cel.IntType, ScopeResponse, "only response filters and conditions see the response"},
	{"response_header", cel.MapType(cel.StringType, cel.StringType), ScopeResponse, "only response filters and conditions see the response"},
	{"steps", cel.MapType(cel.StringType, cel.DynType), ScopeSteps, "only composition steps see earlier results"},
	{"item", cel.DynType, ScopeSteps, "only composition steps see earlier results"},
}

// condEnv is the one CEL environment: every variable is declared, so an
// out-of-scope one type-checks and is then refused with the reason
// (rather than CEL's bare "undeclared reference").
var condEnv = sync.OnceValues(func() (*cel.Env, error) {
	opts := make([]cel.EnvOption, 0, len(condVars))
	for _, d := range condVars {
		opts = append(opts, cel.Variable(d.name, d.typ))
	}
	return cel.NewEnv(opts...)
})

// CompileCondition parses and type-checks src. The result must be a bool;
// variables outside scope are refused. Errors read "line:column: message"
// as CEL reports them (several joined by "; ").
func CompileCondition(src string, scope Scope) (*Condition, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("empty condition")
	}
	if len(src) > maxConditionLen {
		return nil, fmt.Errorf("condition longer than %d bytes", maxConditionLen)
	}
	env, err := condEnv()
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, issuesError(iss)
	}
	if !ast.OutputType().IsExactType(types.BoolType) {
		return nil, fmt.Errorf("condition must be a bool, not %s (compare it: ... == VALUE)", ast.OutputType())
	}
	if err := scopeCheck(ast, scope); err != nil {
		return nil, err
	}
	var popts []cel.ProgramOption
	est, err := env.EstimateCost(ast, sizeHints{})
	if err != nil || est.Max > CostLimit {
		// The worst case is unknown or too high: track at run time.
		popts = append(popts, cel.CostLimit(CostLimit))
	}
	prg, err := env.Program(ast, popts...)
	if err != nil {
		return nil, err
	}
	return &Condition{src: src, prg: prg}, nil
}

// issuesError renders CEL's issues as "line:column: message".
func issuesError(iss *cel.Issues) error {
	var msgs []string
	for _, e := range iss.Errors() {
		msgs = append(msgs, fmt.Sprintf("%d:%d: %s", e.Location.Line(), e.Location.Column()+1, e.Message))
	}
	if len(msgs) == 0 {
		return iss.Err()
	}
	return errors.New(strings.Join(msgs, "; "))
}

// scopeCheck refuses a reference to a variable that has no value where
// the condition runs.
func scopeCheck(ast *cel.Ast, scope Scope) error {
	native := ast.NativeRep()
	for id, ref := range native.ReferenceMap() {
		for _, d := range condVars {
			if ref.Name == d.name && scope&d.scope == 0 {
				loc := native.SourceInfo().GetStartLocation(id)
				return fmt.Errorf("%d:%d: %s has no value here: %s", loc.Line(), loc.Column()+1, d.name, d.why)
			}
		}
	}
	return nil
}

// sizeHints tell the cost estimator how large inputs can be, so common
// conditions get a finite worst case and skip run-time tracking. Strings
// are bounded by the request header limit the listeners enforce (1 MiB
// is above any of them); maps by the header count; composition results
// have no useful bound (nil: unknown, which forces tracking).
type sizeHints struct{}

func (sizeHints) EstimateSize(element checker.AstNode) *checker.SizeEstimate {
	switch element.Type().Kind() {
	case types.StringKind, types.BytesKind:
		return &checker.SizeEstimate{Min: 0, Max: 1 << 20}
	}
	if p := element.Path(); len(p) == 1 {
		switch p[0] {
		case "header", "query", "param", "response_header", "consumer":
			return &checker.SizeEstimate{Min: 0, Max: 1024}
		}
	}
	return nil
}

func (sizeHints) EstimateCallCost(function, overloadID string, target *checker.AstNode, args []checker.AstNode) *checker.CallEstimate {
	return nil
}

// String returns the condition's source.
func (c *Condition) String() string { return c.src }

// Errors counts evaluations that failed (a missing map key, a type error
// at run time, the cost limit); Eval counted each as false.
func (c *Condition) Errors() uint64 { return c.errs.Load() }

// Eval reports whether the condition holds for v. An evaluation error
// (header["x"] when there is no x header, a cost limit exceeded) is false:
// a transform guarded by a condition that cannot be decided is skipped,
// which is the safe default for "apply this only when ...". Errors are
// counted (Errors); Check returns them.
func (c *Condition) Eval(v *Vars) bool {
	ok, err := c.Check(v)
	if err != nil {
		c.errs.Add(1)
	}
	return ok
}

// Check is Eval with the evaluation error.
func (c *Condition) Check(v *Vars) (bool, error) {
	a := activation{v: v}
	out, _, err := c.prg.Eval(&a)
	if err != nil {
		return false, err
	}
	b, ok := out.(types.Bool)
	if !ok {
		return false, fmt.Errorf("condition is %s, not bool", out.Type())
	}
	return bool(b), nil
}
