package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1a2 "sigs.k8s.io/gateway-api/apis/v1alpha2"
	gwv1a3 "sigs.k8s.io/gateway-api/apis/v1alpha3"
	gwv1b1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	k8syaml "sigs.k8s.io/yaml"
)

// maxDocuments bounds how many YAML documents one file may hold, so a
// hostile file of "---" lines cannot make Decode allocate without bound.
const maxDocuments = 10000

// Object is one decoded manifest and where it came from.
type Object struct {
	File string
	// Line is the first line of the document (1-based).
	Line       int
	APIVersion string
	Kind       string
	// Obj is a pointer to the official Go type (*gwv1.Gateway,
	// *networkingv1.Ingress, ...); nil for kinds the translator does not
	// read (Deployments, ConfigMaps, ...), which are kept so callers can
	// tell them apart from mistakes.
	Obj any
}

// Meta returns the object's metadata, or nil for unknown kinds.
func (o Object) Meta() *metav1.ObjectMeta {
	if m, ok := o.Obj.(interface{ GetObjectMeta() metav1.Object }); ok {
		if om, ok := m.GetObjectMeta().(*metav1.ObjectMeta); ok {
			return om
		}
	}
	return nil
}

// Pos is "file:line" for messages.
func (o Object) Pos() string { return fmt.Sprintf("%s:%d", o.File, o.Line) }

// Error is a problem with one document or object, located by file:line.
type Error struct {
	File string
	Line int
	Msg  string
	// NotManifest marks a document without apiVersion and kind: probably
	// Gatehouse's own YAML, not a Kubernetes object.
	NotManifest bool
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// Errors is every problem of one Decode call.
type Errors []*Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// kinds maps apiVersion/kind to a constructor of the official type.
// v1beta1 Gateway API kinds (and v1alpha3 TLSRoute) are type definitions
// of the v1 structs (same schema), so they decode into the v1 types and
// are translated once.
var kinds = map[string]func() any{
	"gateway.networking.k8s.io/v1/GatewayClass":           func() any { return &gwv1.GatewayClass{} },
	"gateway.networking.k8s.io/v1beta1/GatewayClass":      func() any { return &gwv1.GatewayClass{} },
	"gateway.networking.k8s.io/v1/Gateway":                func() any { return &gwv1.Gateway{} },
	"gateway.networking.k8s.io/v1beta1/Gateway":           func() any { return &gwv1.Gateway{} },
	"gateway.networking.k8s.io/v1/HTTPRoute":              func() any { return &gwv1.HTTPRoute{} },
	"gateway.networking.k8s.io/v1beta1/HTTPRoute":         func() any { return &gwv1.HTTPRoute{} },
	"gateway.networking.k8s.io/v1/GRPCRoute":              func() any { return &gwv1.GRPCRoute{} },
	"gateway.networking.k8s.io/v1/ReferenceGrant":         func() any { return &gwv1.ReferenceGrant{} },
	"gateway.networking.k8s.io/v1beta1/ReferenceGrant":    func() any { return &gwv1b1.ReferenceGrant{} },
	"gateway.networking.k8s.io/v1alpha2/TLSRoute":         func() any { return &gwv1a2.TLSRoute{} },
	"gateway.networking.k8s.io/v1alpha3/TLSRoute":         func() any { return &gwv1.TLSRoute{} },
	"gateway.networking.k8s.io/v1/TLSRoute":               func() any { return &gwv1.TLSRoute{} },
	"gateway.networking.k8s.io/v1/TCPRoute":               func() any { return &gwv1.TCPRoute{} },
	"gateway.networking.k8s.io/v1/UDPRoute":               func() any { return &gwv1.UDPRoute{} },
	"gateway.networking.k8s.io/v1alpha2/TCPRoute":         func() any { return &gwv1a2.TCPRoute{} },
	"gateway.networking.k8s.io/v1alpha2/UDPRoute":         func() any { return &gwv1a2.UDPRoute{} },
	"networking.k8s.io/v1/Ingress":                        func() any { return &networkingv1.Ingress{} },
	"networking.k8s.io/v1/IngressClass":                   func() any { return &networkingv1.IngressClass{} },
	"v1/Service":                                          func() any { return &corev1.Service{} },
	"v1/Secret":                                           func() any { return &corev1.Secret{} },
	"v1/Namespace":                                        func() any { return &corev1.Namespace{} },
	"v1/ConfigMap":                                        func() any { return &corev1.ConfigMap{} },
	"gateway.networking.k8s.io/v1/BackendTLSPolicy":       func() any { return &gwv1.BackendTLSPolicy{} },
	"gateway.networking.k8s.io/v1alpha3/BackendTLSPolicy": func() any { return &gwv1a3.BackendTLSPolicy{} },
	"discovery.k8s.io/v1/EndpointSlice":                   func() any { return &discoveryv1.EndpointSlice{} },
}

// document is one YAML document of a stream and its first line.
type document struct {
	line int
	data []byte
}

// splitDocuments cuts a YAML stream at "---" lines. A "---" at column 0
// always starts a document (block scalars are indented), so a line scan is
// exact and keeps line numbers without a YAML parse.
func splitDocuments(data []byte) []document {
	var docs []document
	start, startLine := 0, 1
	line := 1
	for i := 0; i <= len(data); {
		end := bytes.IndexByte(data[i:], '\n')
		next := len(data) + 1
		if end >= 0 {
			end += i
			next = end + 1
		} else {
			end = len(data)
		}
		l := bytes.TrimRight(data[i:end], "\r")
		if isDocMarker(l) {
			docs = append(docs, document{startLine, data[start:i]})
			start, startLine = next, line+1
			if start > len(data) {
				start = len(data)
			}
			if rest := bytes.TrimSpace(l[3:]); len(rest) > 0 && rest[0] != '#' {
				// "--- value": the document starts on this line.
				start, startLine = i+3, line
			}
		}
		i = next
		line++
	}
	docs = append(docs, document{startLine, data[start:]})
	return docs
}

func isDocMarker(l []byte) bool {
	return bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t')
}

// typeMeta reads apiVersion and kind leniently.
func typeMeta(doc []byte) (apiVersion, kind string, empty bool, err error) {
	var n yaml.Node
	if err := safeUnmarshal(doc, &n); err != nil {
		return "", "", false, err
	}
	if len(n.Content) == 0 || n.Content[0].Tag == "!!null" {
		return "", "", true, nil
	}
	m := n.Content[0]
	if m.Kind != yaml.MappingNode {
		return "", "", false, nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch m.Content[i].Value {
		case "apiVersion":
			apiVersion = m.Content[i+1].Value
		case "kind":
			kind = m.Content[i+1].Value
		}
	}
	return apiVersion, kind, false, nil
}

// safeUnmarshal shields callers from a panic inside the YAML parser.
func safeUnmarshal(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	return yaml.Unmarshal(data, v)
}

// IsManifest reports whether the first non-empty document of data has
// both apiVersion and kind, i.e. is a Kubernetes manifest rather than
// Gatehouse's own YAML.
func IsManifest(data []byte) bool {
	for _, d := range splitDocuments(data) {
		av, k, empty, err := typeMeta(d.data)
		if err != nil {
			return false
		}
		if empty {
			continue
		}
		return av != "" && k != ""
	}
	return false
}

var (
	yamlLineRe = regexp.MustCompile(`line (\d+)`)
	fieldRe    = regexp.MustCompile(`unknown field "([^"]+)"|Go struct field [^ ]*?\.([A-Za-z0-9_]+) of type`)
)

// Decode splits a multi-document YAML stream and decodes every manifest
// into its official Go type, strictly: unknown fields, wrong types and
// duplicate keys are errors with file:line. Documents without apiVersion
// and kind are reported as *Error with NotManifest set; kinds the
// translator does not read are returned with a nil Obj. The objects that
// decoded are returned even when others failed.
func Decode(file string, data []byte) ([]Object, error) {
	var objs []Object
	var errs Errors
	docs := splitDocuments(data)
	if len(docs) > maxDocuments {
		return nil, Errors{{File: file, Line: 1, Msg: fmt.Sprintf("more than %d YAML documents", maxDocuments)}}
	}
	for _, d := range docs {
		av, k, empty, err := typeMeta(d.data)
		if err != nil {
			errs = append(errs, &Error{File: file, Line: d.line + yamlErrLine(err.Error()), Msg: "invalid YAML: " + trimYAML(err.Error())})
			continue
		}
		if empty {
			continue
		}
		if av == "" || k == "" {
			errs = append(errs, &Error{File: file, Line: d.line, NotManifest: true,
				Msg: "document has no apiVersion and kind: not a Kubernetes manifest"})
			continue
		}
		o := Object{File: file, Line: d.line, APIVersion: av, Kind: k}
		if av == PolicyVersion && k == PolicyKind {
			p, err := decodePolicy(file, d.line, d.data)
			if err != nil {
				errs = appendErrors(errs, err)
				continue
			}
			o.Obj = p
		} else if mk, ok := kinds[av+"/"+k]; ok {
			obj := mk()
			if err := strictUnmarshal(d.data, obj); err != nil {
				errs = append(errs, &Error{File: file, Line: d.line + errLine(d.data, err) - 1,
					Msg: fmt.Sprintf("%s %s: %s", k, av, trimYAML(err.Error()))})
				continue
			}
			if v1b1, ok := obj.(*gwv1b1.ReferenceGrant); ok {
				obj = (*gwv1.ReferenceGrant)(v1b1)
			}
			if v1a3, ok := obj.(*gwv1a3.BackendTLSPolicy); ok {
				obj = (*gwv1.BackendTLSPolicy)(v1a3)
			}
			o.Obj = obj
		}
		objs = append(objs, o)
	}
	if len(errs) > 0 {
		return objs, errs
	}
	return objs, nil
}

// appendErrors adds a decode error, which is an *Error or, from
// Gatehouse's own decoder, config.Errors.
func appendErrors(errs Errors, err error) Errors {
	var ce config.Errors
	if errors.As(err, &ce) {
		for _, e := range ce {
			errs = append(errs, &Error{File: e.File, Line: e.Line, Msg: strings.TrimPrefix(e.Error(), e.Pos.String()+": ")})
		}
		return errs
	}
	var e *Error
	if errors.As(err, &e) {
		return append(errs, e)
	}
	return append(errs, &Error{Msg: err.Error()})
}

// strictUnmarshal decodes with sigs.k8s.io/yaml (YAML → JSON → the
// type's JSON tags, as the API server does), refusing unknown and
// duplicate fields, and never panicking.
func strictUnmarshal(data []byte, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder failed: %v", r)
		}
	}()
	return k8syaml.UnmarshalStrict(data, v)
}

// errLine finds the line (1-based, within doc) an error is about: the
// YAML parser names it; for JSON errors the offending key is looked up in
// the document's YAML tree. 1 when unknown.
func errLine(doc []byte, err error) int {
	msg := err.Error()
	if n := yamlErrLine(msg); n > 0 {
		return n + 1
	}
	m := fieldRe.FindStringSubmatch(msg)
	if m == nil {
		return 1
	}
	key := m[1]
	if key == "" {
		key = m[2]
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		key = key[i+1:]
	}
	var n yaml.Node
	if safeUnmarshal(doc, &n) != nil {
		return 1
	}
	if l := findKey(&n, key); l > 0 {
		return l
	}
	return 1
}

// yamlErrLine returns the line a YAML parser error names, 0 if none; the
// value is relative to the document (1-based), returned as an offset.
func yamlErrLine(msg string) int {
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		var n int
		fmt.Sscanf(m[1], "%d", &n)
		if n > 0 {
			return n - 1
		}
	}
	return 0
}

// findKey returns the line of the first mapping key named key (case
// insensitively: JSON errors use Go field names), depth first.
func findKey(n *yaml.Node, key string) int {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if strings.EqualFold(n.Content[i].Value, key) {
				return n.Content[i].Line
			}
		}
	}
	for _, c := range n.Content {
		if l := findKey(c, key); l > 0 {
			return l
		}
	}
	return 0
}

func trimYAML(msg string) string {
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	msg = strings.TrimPrefix(msg, "error unmarshaling JSON: while decoding JSON: ")
	msg = strings.TrimPrefix(msg, "error unmarshaling JSON: ")
	msg = strings.TrimPrefix(msg, "json: ")
	msg = strings.TrimPrefix(msg, "yaml: ")
	// One line per error: multi-line parser reports are joined.
	return strings.Join(strings.Fields(msg), " ")
}
