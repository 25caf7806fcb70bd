package config

import (
	"fmt"
	"os"
	"strings"

	exprpkg "github.com/gatehouse/gatehouse/internal/expr"
)

// lookupEnv is a variable so tests can substitute a fake environment
// without touching the process environment (which would race with
// parallel tests).
var lookupEnv = os.LookupEnv

// expandEnv replaces ${NAME} and ${NAME:-default} in a scalar value and
// turns $$ into a literal $. Any other $ is kept as is, so regexes such as
// ^/v1$ need no escaping. The default applies, as in the shell, when the
// variable is unset or empty.
func expandEnv(s string) (string, error) { return expandEnvIn(s, false) }

// expandEnvIn is expandEnv; with template set (values of Templates maps,
// which are request templates) a ${NAME} that names a request variable,
// or an environment variable that is not set and has no default, is kept
// for the template compiler, and $${ stays $${ (the template's literal
// ${). So ${TOKEN} still reads the environment and ${client_ip} reaches
// the template.
func expandEnvIn(s string, template bool) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			if template && i+2 < len(s) && s[i+2] == '{' {
				b.WriteString("$${")
				i += 2
				continue
			}
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				if template {
					b.WriteString(s[i:]) // the template compiler reports it
					return b.String(), nil
				}
				return "", &problem{msg: "unterminated ${ in value", hint: "close it with }, or write $$ for a literal $"}
			}
			expr := s[i+2 : i+2+end]
			name, def, hasDef := strings.Cut(expr, ":-")
			if template {
				_, set := lookupEnv(name)
				if exprpkg.IsVariable(strings.TrimSpace(name)) || (!set && !hasDef) {
					b.WriteString(s[i : i+3+end])
					i += 2 + end
					continue
				}
			}
			if !validEnvName(name) {
				return "", &problem{msg: fmt.Sprintf("invalid environment variable name %q in ${%s}", name, expr),
					hint: "names are letters, digits and _, not starting with a digit; write $$ for a literal $"}
			}
			v, ok := lookupEnv(name)
			switch {
			case hasDef && v == "":
				v = def
			case !ok:
				return "", &problem{msg: fmt.Sprintf("environment variable %s is not set", name),
					hint: fmt.Sprintf("set it, or give a default with ${%s:-value}", name)}
			}
			b.WriteString(v)
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
