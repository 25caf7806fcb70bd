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
	return encode(cfg, nil)
}

// Encode renders r.Config like Encode, with the policies blocks of routes
// that use GatehousePolicy objects written as the objects gave them (so
// an explicit `hide_credentials: false` is not pruned into the default).
func (r *Result) Encode() ([]byte, error) { return encode(r.Config, r.policyNodes) }

func encode(cfg *config.Config, policies map[string]*yaml.Node) ([]byte, error) {
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
	if len(policies) > 0 {
		splicePolicies(&n, policies)
	}
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

// splicePolicies replaces the policies value of each named route in the
// encoded document.
func splicePolicies(doc *yaml.Node, policies map[string]*yaml.Node) {
	top := doc
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "routes" {
			continue
		}
		for _, rt := range top.Content[i+1].Content {
			name := ""
			for j := 0; j+1 < len(rt.Content); j += 2 {
				if rt.Content[j].Value == "name" {
					name = rt.Content[j+1].Value
				}
			}
			p, ok := policies[name]
			if !ok {
				continue
			}
			replaced := false
			for j := 0; j+1 < len(rt.Content); j += 2 {
				if rt.Content[j].Value == "policies" {
					rt.Content[j+1], replaced = p, true
				}
			}
			if !replaced {
				rt.Content = append(rt.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "policies"}, p)
			}
		}
	}
}
