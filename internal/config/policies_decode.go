package config

import (
	"reflect"

	"go.yaml.in/yaml/v3"
)

// DecodePolicies decodes a route's policies block that comes from
// another document than Gatehouse's own, such as the spec of a Kubernetes
// GatehousePolicy object: unknown keys, wrong types and bad values are
// errors at file:line (n's lines must be the file's). Defaults and the
// checks that need the whole configuration (named consumers, plans,
// providers) happen when the configuration holding the block is loaded.
func DecodePolicies(file string, n *yaml.Node) (*Policies, error) {
	var errs collector
	d := newDecoder(&errs)
	d.file = file
	p := &Policies{}
	d.decodeValue(n, reflect.ValueOf(p).Elem(), scope{owner: "policies"}, "policies", Pos{File: file, Line: n.Line}, false)
	return p, errs.result()
}
