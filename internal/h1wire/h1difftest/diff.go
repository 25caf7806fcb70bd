package h1difftest

import (
	"fmt"
	"reflect"
	"strings"
)

// Diff collects the fields on which Gatehouse's parse and net/http's
// differ, for one message.
type Diff []string

// Check records what when a (Gatehouse's) and b (net/http's) differ.
func (d *Diff) Check(what string, a, b any) {
	if !reflect.DeepEqual(a, b) {
		*d = append(*d, what+": Gatehouse "+quote(a)+", net/http "+quote(b))
	}
}

// String is every difference, one a line ("" when they agree).
func (d Diff) String() string { return strings.Join(d, "\n") }

func quote(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%#v", v)
}
