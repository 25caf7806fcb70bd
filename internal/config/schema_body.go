package config

// BodyTransform is a request_body or response_body filter: a JSON body
// transform (see package jsonxform for paths and the order of
// operations, which is fixed: extract, allow, deny, rename, remove, set,
// wrap, jq).
type BodyTransform struct {
	Pos Pos `yaml:"-"`
	// Set assigns literal JSON values to paths (applied in sorted path
	// order, so a parent comes before its children).
	Set     map[string]any `yaml:"set"`
	Remove  []string       `yaml:"remove"`
	Rename  PathMap        `yaml:"rename"`
	Allow   []string       `yaml:"allow"`
	Deny    []string       `yaml:"deny"`
	Wrap    string         `yaml:"wrap"`
	Extract string         `yaml:"extract"`
	JQ      string         `yaml:"jq"`
	// MaxBytes bounds the body held for the transform (default
	// filter.DefaultBodyMaxBytes, 1MiB).
	MaxBytes int64 `yaml:"max_bytes" gatehouse:"size"`
}

// PathMap maps JSON paths to JSON paths. Unlike header maps its keys are
// case-sensitive: Name and name are different fields.
type PathMap map[string]string
