package config

import "time"

// Compose is a route's composition action: one answer from several
// backend calls (steps), merged into one JSON document.
type Compose struct {
	Pos Pos `yaml:"-"`
	// Merge is group (the default), merge or append.
	Merge string `yaml:"merge"`
	// MaxBodyBytes bounds each step's buffered response; 0 means
	// compose.DefaultMaxBodyBytes.
	MaxBodyBytes int64          `yaml:"max_body_bytes" gatehouse:"size"`
	Steps        []*ComposeStep `yaml:"steps"`
}

// ComposeStep is one call (or one per element with ForEach) of a
// composition. Exactly one of Upstream (with URL) or Path is set.
type ComposeStep struct {
	Pos      Pos    `yaml:"-"`
	Name     string `yaml:"name"`
	Upstream string `yaml:"upstream"`
	// URL is the path and query template for an upstream step ("/" when
	// empty).
	URL string `yaml:"url"`
	// Path is a route-relative path template, dispatched through this
	// gateway's own routes.
	Path           string            `yaml:"path"`
	Method         string            `yaml:"method"`
	Headers        map[string]string `yaml:"headers"`
	ForwardHeaders []string          `yaml:"forward_headers"`
	// Body is any JSON value; its strings are templates.
	Body    any           `yaml:"body"`
	Timeout time.Duration `yaml:"timeout"`
	Needs   []string      `yaml:"needs"`
	// ForEach is a variable (no ${}) holding an array.
	ForEach     string `yaml:"for_each"`
	Concurrency int    `yaml:"concurrency"`
	MaxItems    int    `yaml:"max_items"`
	// OnError is fail (the default), omit or default.
	OnError string `yaml:"on_error"`
	Default any    `yaml:"default"`
	// When is a CEL condition; false skips the step.
	When string `yaml:"when"`
	// Result shaping, in this order: target, allow, deny, mapping.
	Target  string            `yaml:"target"`
	Allow   []string          `yaml:"allow"`
	Deny    []string          `yaml:"deny"`
	Mapping map[string]string `yaml:"mapping"`
	// Group is the key of the result (group merge; default the name).
	Group string `yaml:"group"`
}
