package kubernetes

import (
	"bytes"
	"fmt"
	"slices"

	"go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8syaml "sigs.k8s.io/yaml"

	"github.com/gatehouse/gatehouse/internal/config"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Policy attachment: Gatehouse's own policies (authentication, rate
// limits, quotas, caching, CORS, WAF, IP rules …) attach to HTTPRoute
// rules through the Gateway API's ExtensionRef filter, naming a
// GatehousePolicy object in the route's namespace:
//
//	filters:
//	  - type: ExtensionRef
//	    extensionRef: {group: gatehouse.dev, kind: GatehousePolicy, name: strict}
//
// The object's spec is exactly a Gatehouse route's `policies` block (the
// same keys, checked by the same decoder, with file:line). Why ExtensionRef
// and not a GEP-713 policy with targetRefs: it is per rule (a rule is a
// Gatehouse route), its effect is visible in the route that uses it, and
// there is no merging of overlapping targets to explain; the Gateway API
// defines the failure case (an unresolvable ExtensionRef answers 500). A
// rule may name several policies when they set different keys.
const (
	PolicyGroup   = "gatehouse.dev"
	PolicyKind    = "GatehousePolicy"
	PolicyVersion = "gatehouse.dev/v1alpha1"
)

// GatehousePolicy is a decoded gatehouse.dev/v1alpha1 GatehousePolicy.
type GatehousePolicy struct {
	metav1.ObjectMeta
	// Spec is the decoded policies block; SpecNode the YAML it came from
	// (lines are the file's), which Encode writes as given so keys whose
	// explicit value equals a zero value are kept.
	Spec     *config.Policies
	SpecNode *yaml.Node
}

// decodePolicy decodes a GatehousePolicy document that starts at line of
// file: metadata with the Kubernetes decoder, spec with Gatehouse's.
func decodePolicy(file string, line int, data []byte) (*GatehousePolicy, error) {
	var root yaml.Node
	if err := safeUnmarshal(data, &root); err != nil {
		return nil, &Error{File: file, Line: line + yamlErrLine(err.Error()), Msg: "invalid YAML: " + trimYAML(err.Error())}
	}
	shiftLines(&root, line-1)
	doc := root.Content[0]
	p := &GatehousePolicy{}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		switch k.Value {
		case "apiVersion", "kind":
		case "metadata":
			var buf bytes.Buffer
			if err := yaml.NewEncoder(&buf).Encode(v); err != nil {
				return nil, &Error{File: file, Line: v.Line, Msg: err.Error()}
			}
			if err := k8syaml.UnmarshalStrict(buf.Bytes(), &p.ObjectMeta); err != nil {
				return nil, &Error{File: file, Line: v.Line, Msg: PolicyKind + " metadata: " + trimYAML(err.Error())}
			}
		case "spec":
			spec, err := config.DecodePolicies(file, v)
			if err != nil {
				return nil, err
			}
			p.Spec, p.SpecNode = spec, v
		default:
			return nil, &Error{File: file, Line: k.Line, Msg: fmt.Sprintf("%s: unknown field %q", PolicyKind, k.Value)}
		}
	}
	if p.Spec == nil {
		return nil, &Error{File: file, Line: line, Msg: PolicyKind + " has no spec"}
	}
	return p, nil
}

func shiftLines(n *yaml.Node, by int) {
	n.Line += by
	for _, c := range n.Content {
		shiftLines(c, by)
	}
}

// extensionPolicies resolves a rule's ExtensionRef filters to the
// GatehousePolicy objects they name, merged into one policies block. ""
// when all resolve; else why not (the rule then answers 500).
func (t *translator) extensionPolicies(ns string, filters []gwv1.HTTPRouteFilter) ([]*GatehousePolicy, string) {
	var out []*GatehousePolicy
	for _, f := range filters {
		if f.Type != gwv1.HTTPRouteFilterExtensionRef || f.ExtensionRef == nil {
			continue
		}
		r := f.ExtensionRef
		if string(r.Group) != PolicyGroup || string(r.Kind) != PolicyKind {
			return nil, fmt.Sprintf("ExtensionRef %s/%s is not supported (only %s/%s)", r.Group, r.Kind, PolicyGroup, PolicyKind)
		}
		p, ok := t.ix.policies[key(ns, string(r.Name))]
		if !ok {
			return nil, fmt.Sprintf("%s %s/%s not found", PolicyKind, ns, r.Name)
		}
		out = append(out, p)
	}
	return out, ""
}

// attachPolicies sets the route's policies from the rule's GatehousePolicy
// objects: their spec blocks merged key by key (a key set by two of them
// is an error, returned). The YAML is kept for Result.Encode.
func (t *translator) attachPolicies(rt *config.Route, ps []*GatehousePolicy) string {
	if len(ps) == 0 {
		return ""
	}
	merged := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	owner := map[string]string{}
	for _, p := range ps {
		n := p.SpecNode
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			if prev, dup := owner[k]; dup {
				return fmt.Sprintf("%s %s and %s both set %s", PolicyKind, prev, p.Name, k)
			}
			owner[k] = p.Name
			merged.Content = append(merged.Content, n.Content[i], n.Content[i+1])
		}
	}
	spec, err := config.DecodePolicies("", merged)
	if err != nil { // each decoded alone, so a merge cannot fail; be safe
		return err.Error()
	}
	rt.Policies = spec
	if t.res.policyNodes == nil {
		t.res.policyNodes = map[string]*yaml.Node{}
	}
	t.res.policyNodes[rt.Name] = merged
	return ""
}

// rulePolicies applies a rule's ExtensionRef filters to its route. When
// one cannot be resolved the route answers 500 instead, as the Gateway
// API requires of a filter that cannot be honoured, and the reason is
// returned.
func (t *translator) rulePolicies(rt *config.Route, ns string, filters []gwv1.HTTPRouteFilter) string {
	ps, msg := t.extensionPolicies(ns, filters)
	if msg == "" {
		msg = t.attachPolicies(rt, ps)
	}
	if msg != "" {
		rt.Backend, rt.Redirect, rt.Policies = nil, nil, nil
		rt.Respond = &config.Respond{Status: 500}
		rt.Filters = slices.DeleteFunc(rt.Filters, func(f *config.Filter) bool { return f.URLRewrite != nil })
		delete(t.res.policyNodes, rt.Name)
	}
	return msg
}
