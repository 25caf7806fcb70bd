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
	reflect.TypeFor[ComposeStep](): true,
}

// expandEnvTemplate is expandEnv for template strings: environment
// variables are substituted, template variables kept verbatim.
func expandEnvTemplate(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "${")
		if j < 0 {
			b.WriteString(s[i:])
			break
		}
		j += i
		if j > i && s[j-1] == '$' { // $${: the template's literal ${
			b.WriteString(s[i : j+2])
			i = j + 2
			continue
		}
		b.WriteString(s[i:j])
		end := strings.IndexByte(s[j:], '}')
		if end < 0 {
			b.WriteString(s[j:]) // the template compiler reports it
			break
		}
		inner := s[j : j+end+1]
		if name := inner[2 : len(inner)-1]; name != "" && (name[0] == '_' || unicode.IsUpper(rune(name[0]))) {
			v, err := expandEnv(inner)
			if err != nil {
				return "", err
			}
			// A value containing ${ would be read as a template variable.
			b.WriteString(strings.ReplaceAll(v, "${", "$${"))
		} else {
			b.WriteString(inner)
		}
		i = j + end + 1
	}
	return b.String(), nil
}
