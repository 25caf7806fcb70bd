package kubernetes

import (
	"go.yaml.in/yaml/v3"

	"github.com/gatehouse/gatehouse/internal/config"
)

// Encode renders the translated sections of cfg as Gatehouse YAML, the
// input of config.Parse. Zero values are left out rather than written,
// because Gatehouse treats a given key as a choice (an explicit
// `balance: ""` is an error, an absent one takes the default).
func Encode(cfg *config.Config) ([]byte, error) {
	sub := struct {
		Listeners []*config.Listener `yaml:"listeners,omitempty"`
		Upstreams []*config.Upstream `yaml:"upstreams,omitempty"`
		Routes    []*config.Route    `yaml:"routes,omitempty"`
		L4Routes  []*config.L4Route  `yaml:"l4_routes,omitempty"`
	}{cfg.Listeners, cfg.Upstreams, cfg.Routes, cfg.L4Routes}
	var n yaml.Node
	if err := n.Encode(&sub); err != nil {
		return nil, err
	}
	prune(&n)
	return yaml.Marshal(&n)
}

// valueMaps are the keys whose value is a map of user values (header
// name → value): their entries are kept even when empty, since setting a
// header to "" is a choice.
var valueMaps = map[string]bool{"set": true, "add": true, "headers": true}

// prune removes mapping entries whose value is a zero scalar or an empty
// collection, bottom up; it reports whether n itself is now empty.
func prune(n *yaml.Node) bool {
	switch n.Kind {
	case yaml.MappingNode:
		out := n.Content[:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if valueMaps[k.Value] && v.Kind == yaml.MappingNode {
				if len(v.Content) > 0 {
					out = append(out, k, v)
				}
				continue
			}
			if !prune(v) {
				out = append(out, k, v)
			}
		}
		n.Content = out
		return len(out) == 0
	case yaml.SequenceNode:
		for _, c := range n.Content {
			prune(c)
		}
		return len(n.Content) == 0
	case yaml.DocumentNode:
		for _, c := range n.Content {
			prune(c)
		}
		return false
	case yaml.ScalarNode:
		if n.Tag == "!!str" && n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 && n.Value != "" {
			return false // a quoted "0" or "false" is a string value
		}
		switch n.Value {
		case "", "0", "false", "0s", "null":
			return true
		}
	}
	return false
}
