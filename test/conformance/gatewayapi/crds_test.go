package gatewayapi

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// crds are the Gateway API CustomResourceDefinitions (experimental
// channel, as shipped in the sigs.k8s.io/gateway-api module) and, per
// group/version/kind, the structural schema the API server defaults
// objects with. Defaulting matters: the suite compares statuses against
// parentRefs with the group and kind the schema fills in, and routes
// without matches get the default PathPrefix "/" match from it.
type crds struct {
	objs    []*apiextensionsv1.CustomResourceDefinition
	schemas map[schema.GroupVersionKind]*structuralschema.Structural
}

// loadCRDs reads the CRDs from the module's config/crd/experimental (the
// directory the Go command has in its module cache).
func loadCRDs() (*crds, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		return nil, fmt.Errorf("locating sigs.k8s.io/gateway-api: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "experimental", "gateway.networking.k8s.io_*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no Gateway API CRDs found (%v)", err)
	}
	c := &crds{schemas: map[schema.GroupVersionKind]*structuralschema.Structural{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for doc := range bytes.SplitSeq(data, []byte("\n---\n")) {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := yaml.Unmarshal(doc, &crd); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if crd.Kind != "CustomResourceDefinition" {
				continue // e.g. a ValidatingAdmissionPolicy
			}
			c.objs = append(c.objs, &crd)
			for _, v := range crd.Spec.Versions {
				if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
					continue
				}
				var internal apiextensions.JSONSchemaProps
				if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, &internal, nil); err != nil {
					return nil, err
				}
				s, err := structuralschema.NewStructural(&internal)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", crd.Name, v.Name, err)
				}
				c.schemas[schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}] = s
			}
		}
	}
	return c, nil
}

// applyDefaults fills in obj's schema defaults in place, as the API
// server does on create and update; objects of other kinds are left as
// they are.
func (c *crds) applyDefaults(scheme *runtime.Scheme, obj client.Object) error {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		if s := c.schemas[u.GroupVersionKind()]; s != nil {
			defaulting.Default(u.Object, s)
		}
		return nil
	}
	gvks, _, err := scheme.ObjectKinds(obj)
	if err != nil || len(gvks) == 0 {
		return nil
	}
	s := c.schemas[gvks[0]]
	if s == nil {
		return nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return err
	}
	defaulting.Default(m, s)
	return runtime.DefaultUnstructuredConverter.FromUnstructured(m, obj)
}
