package expr

import (
	"fmt"
	"strings"
)

// Template is a compiled string template: literal text with `${name}`
// variables; `$${` writes a literal `${`. The zero value renders "".
type Template struct {
	parts []part
	// literal is the whole text when there are no variables.
	literal string
	static  bool
	names   []string
}

// part is a literal or a variable.
type part struct {
	lit string
	get getter
	// str reads a string-valued variable without boxing it (nil for
	// JSON-valued ones: claims, steps, item, status).
	str func(*Vars) string
}

func (p *part) render(v *Vars) string {
	if p.str != nil {
		return p.str(v)
	}
	return String(p.get(v))
}

// SyntaxError locates a template problem: Offset is the byte offset in
// the source, for callers that report positions.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("at offset %d: %s", e.Offset, e.Msg) }

// maxVars bounds the variables of one template, so rendering stays a
// small, known amount of work.
const maxVars = 64

// CompileTemplate parses src. Errors name the offset and, for an unknown
// variable, the list of variables.
func CompileTemplate(src string, scope Scope) (*Template, error) {
	t := &Template{}
	var lit strings.Builder
	for i := 0; i < len(src); {
		j := strings.IndexByte(src[i:], '$')
		if j < 0 {
			lit.WriteString(src[i:])
			break
		}
		j += i
		lit.WriteString(src[i:j])
		switch {
		case strings.HasPrefix(src[j:], "$${"):
			lit.WriteString("${")
			i = j + 3
			continue
		case !strings.HasPrefix(src[j:], "${"):
			lit.WriteByte('$')
			i = j + 1
			continue
		}
		end := strings.IndexByte(src[j:], '}')
		if end < 0 {
			return nil, &SyntaxError{j, "unclosed ${: add }"}
		}
		name := strings.TrimSpace(src[j+2 : j+end])
		if name == "" {
			return nil, &SyntaxError{j, "empty ${}: name a variable"}
		}
		g, err := compileVar(name, scope)
		if err != nil {
			return nil, &SyntaxError{j, err.Error()}
		}
		if len(t.names) == maxVars {
			return nil, &SyntaxError{j, fmt.Sprintf("more than %d variables", maxVars)}
		}
		if lit.Len() > 0 {
			t.parts = append(t.parts, part{lit: lit.String()})
			lit.Reset()
		}
		t.parts = append(t.parts, part{get: g, str: stringVar(name)})
		t.names = append(t.names, name)
		i = j + end + 1
	}
	if len(t.names) == 0 {
		t.static, t.literal, t.parts = true, lit.String(), nil
		return t, nil
	}
	if lit.Len() > 0 {
		t.parts = append(t.parts, part{lit: lit.String()})
	}
	return t, nil
}

// MustTemplate is CompileTemplate for sources known to be valid (tests,
// built-in defaults); it panics on an error.
func MustTemplate(src string, scope Scope) *Template {
	t, err := CompileTemplate(src, scope)
	if err != nil {
		panic(err)
	}
	return t
}

// Literal returns the text of a template without variables.
func (t *Template) Literal() (string, bool) { return t.literal, t.static }

// Names are the variables the template uses, in order.
func (t *Template) Names() []string { return t.names }

// Render returns the template's text for v.
func (t *Template) Render(v *Vars) string {
	if t.static {
		return t.literal
	}
	if len(t.parts) == 1 {
		return t.parts[0].render(v)
	}
	var b strings.Builder
	for i := range t.parts {
		if p := &t.parts[i]; p.get == nil {
			b.WriteString(p.lit)
		} else {
			b.WriteString(p.render(v))
		}
	}
	return b.String()
}

// Value returns what a template that is exactly one variable holds,
// keeping its JSON type (a number stays a number, an object an object);
// any other template renders to a string. JSON body templates use it.
func (t *Template) Value(v *Vars) any {
	if !t.static && len(t.parts) == 1 {
		return t.parts[0].get(v)
	}
	return t.Render(v)
}
