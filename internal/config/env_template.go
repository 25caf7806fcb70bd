package config

import (
	"reflect"
	"strings"
	"unicode"
)

// templateStructs are the schema structs whose strings are request
// templates (expr: ${header.x}, ${steps.user.id}, ${item}). In them,
// ${NAME} is an environment variable only when NAME starts with an
// upper-case letter or '_' (the convention for environment names);
// ${lower...} is left for the template compiler, and so is $$ (the
// template's own escape, $${ for a literal ${). Elsewhere every ${NAME}
// is an environment variable as before.
var templateStructs = map[reflect.Type]bool{
	reflect.TypeFor[ComposeStep]():   true,
	reflect.TypeFor[BodyTransform](): true,
}

// expandEnvTemplate is expandEnv for template strings: environment
// variables are substituted, template variables kept verbatim, $$ is a
// literal $ as everywhere, and $${ stays $${ (the template's literal ${).
func expandEnvTemplate(s string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c != '$' || i+1 == len(s):
			b.WriteByte(c)
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("$${")
			i += 2
		case s[i+1] == '$':
			b.WriteByte('$')
			i++
		case s[i+1] == '{':
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				b.WriteString(s[i:]) // the template compiler reports it
				return b.String(), nil
			}
			inner := s[i : i+end+1]
			if name := inner[2 : len(inner)-1]; name != "" && (name[0] == '_' || unicode.IsUpper(rune(name[0]))) {
				v, err := expandEnv(inner)
				if err != nil {
					return "", err
				}
				// A value containing ${ would be read as a template variable.
				inner = strings.ReplaceAll(v, "${", "$${")
			}
			b.WriteString(inner)
			i += end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}
