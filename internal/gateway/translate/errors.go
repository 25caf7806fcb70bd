package translate

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
)

// policyErr names the policy a construction error belongs to, by its
// configuration key and at its line, without repeating a prefix the
// package already put there ("jwt: jwt: ...") or leaving the package's
// own name for it.
func policyErr(pos config.Pos, key string, err error) error {
	msg := err.Error()
	switch {
	case strings.HasPrefix(msg, key+": "):
	default:
		err = fmt.Errorf("%s: %w", key, err)
		for _, own := range []string{"ipfilter: ", "limits: ", "authz: "} {
			if rest, ok := strings.CutPrefix(msg, own); ok {
				err = fmt.Errorf("%s: %s", key, rest)
			}
		}
	}
	return &positioned{pos, err}
}

// positioned is a policy error with the line of the policy at fault.
type positioned struct {
	pos config.Pos
	err error
}

func (p *positioned) Error() string { return p.err.Error() }
func (p *positioned) Unwrap() error { return p.err }

// ErrorPos is the line of the policy an error of Policies belongs to, or
// def when it names none.
func ErrorPos(err error, def config.Pos) config.Pos {
	var pe *positioned
	if errors.As(err, &pe) {
		return pe.pos
	}
	return def
}
