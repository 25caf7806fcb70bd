package kubernetes

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Result is what Translate produced.
type Result struct {
	// Config holds only Listeners, Routes, L4Routes and Upstreams, without
	// defaults: encode it with Encode and load it with config.Parse (or
	// merge it into a file's Config before validation).
	Config *config.Config
	// Files maps the paths named by listener certificates (under
	// Options.SecretDir) to their PEM content. Translate writes nothing;
	// WriteFiles does.
	Files map[string][]byte
	// Statuses are the conditions the Gateway API asks a controller to
	// report, one entry per object (and per listener / parent reference).
	Statuses []Status
	// Errors are objects or parts of objects that could not be used,
	// each located by file:line.
	Errors []error

	// policyNodes are the policies blocks of routes (by route name) as
	// their GatehousePolicy objects wrote them, for Encode.
	policyNodes map[string]*yaml.Node
}

// Status is the condition set of one object, or of one section of it:
// Section is a Gateway listener name, or "Gateway NS/NAME[/SECTION][:PORT]"
// for a route's parent reference (a policy's ancestor Gateway), and empty
// for the object as a whole.
type Status struct {
	Kind, Namespace, Name string
	Section               string
	Conditions            []Condition
	// AttachedRoutes and SupportedKinds are set on Gateway listener
	// sections: the routes accepted on that listener and the route kinds
	// it carries.
	AttachedRoutes int32
	SupportedKinds []string
}

// Condition mirrors metav1.Condition without the bookkeeping fields.
type Condition struct {
	Type    string
	Status  string // "True" or "False"
	Reason  string
	Message string
}

// Condition returns the condition of type t, if any.
func (s Status) Condition(t string) (Condition, bool) {
	i := slices.IndexFunc(s.Conditions, func(c Condition) bool { return c.Type == t })
	if i < 0 {
		return Condition{}, false
	}
	return s.Conditions[i], true
}

// Find returns the status of kind/namespace/name and section.
func (r *Result) Find(kind, namespace, name, section string) (Status, bool) {
	for _, s := range r.Statuses {
		if s.Kind == kind && s.Namespace == namespace && s.Name == name && s.Section == section {
			return s, true
		}
	}
	return Status{}, false
}

// WriteFiles writes Files with owner-only permissions (they hold private
// keys), creating their directories.
func (r *Result) WriteFiles() error {
	for path, data := range r.Files {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	return nil
}

func cond(t string, ok bool, reason, format string, args ...any) Condition {
	s := "False"
	if ok {
		s = "True"
	}
	return Condition{Type: t, Status: s, Reason: reason, Message: fmt.Sprintf(format, args...)}
}
