// Package deploy holds no code: its test keeps the install manifests
// valid, decoding every document strictly into the official Go types.
package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse/gatehouse/internal/configsource"
	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

var kinds = map[string]func() any{
	"v1/Namespace":       func() any { return &corev1.Namespace{} },
	"v1/ServiceAccount":  func() any { return &corev1.ServiceAccount{} },
	"v1/ConfigMap":       func() any { return &corev1.ConfigMap{} },
	"v1/Service":         func() any { return &corev1.Service{} },
	"apps/v1/Deployment": func() any { return &appsv1.Deployment{} },
	"rbac.authorization.k8s.io/v1/ClusterRole":         func() any { return &rbacv1.ClusterRole{} },
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding":  func() any { return &rbacv1.ClusterRoleBinding{} },
	"rbac.authorization.k8s.io/v1/Role":                func() any { return &rbacv1.Role{} },
	"rbac.authorization.k8s.io/v1/RoleBinding":         func() any { return &rbacv1.RoleBinding{} },
	"gateway.networking.k8s.io/v1/GatewayClass":        func() any { return &gwv1.GatewayClass{} },
	"apiextensions.k8s.io/v1/CustomResourceDefinition": func() any { return &apiextv1.CustomResourceDefinition{} },
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// decodeAll decodes every document of every *.yaml here, strictly.
func decodeAll(t *testing.T) []any {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var objs []any
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range docSep.Split(string(data), -1) {
			var tm struct{ APIVersion, Kind string }
			if err := yaml.Unmarshal([]byte(doc), &tm); err != nil || tm.Kind == "" {
				t.Errorf("%s document %d: no apiVersion/kind (%v)", f, i+1, err)
				continue
			}
			mk, ok := kinds[tm.APIVersion+"/"+tm.Kind]
			if !ok {
				t.Errorf("%s document %d: unexpected %s %s", f, i+1, tm.APIVersion, tm.Kind)
				continue
			}
			obj := mk()
			if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
				t.Errorf("%s document %d (%s): %v", f, i+1, tm.Kind, err)
				continue
			}
			objs = append(objs, obj)
		}
	}
	return objs
}

// TestManifests: every file decodes strictly, and the pieces fit: the
// RBAC grants what the controller does, the Deployment runs 2 replicas
// with the downward-API variables and a readiness probe on the admin
// port, the ConfigMap's Gatehouse YAML is valid once a Gateway is added,
// and the GatewayClass names the default controller.
func TestManifests(t *testing.T) {
	var role *rbacv1.ClusterRole
	var dep *appsv1.Deployment
	var cm *corev1.ConfigMap
	var gc *gwv1.GatewayClass
	var crd *apiextv1.CustomResourceDefinition
	for _, o := range decodeAll(t) {
		switch v := o.(type) {
		case *apiextv1.CustomResourceDefinition:
			crd = v
		case *rbacv1.ClusterRole:
			role = v
		case *appsv1.Deployment:
			dep = v
		case *corev1.ConfigMap:
			cm = v
		case *gwv1.GatewayClass:
			gc = v
		}
	}
	if role == nil || dep == nil || cm == nil || gc == nil {
		t.Fatalf("missing objects: role %v deployment %v configmap %v class %v", role != nil, dep != nil, cm != nil, gc != nil)
	}

	grants := func(group, resource, verb string) bool {
		return slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
			return slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb)
		})
	}
	watched := map[string][]string{
		"":                          {"services", "secrets", "configmaps", "namespaces"},
		"discovery.k8s.io":          {"endpointslices"},
		"networking.k8s.io":         {"ingresses", "ingressclasses"},
		"gatehouse.dev":             {"gatehousepolicies"},
		"gateway.networking.k8s.io": {"gatewayclasses", "gateways", "httproutes", "grpcroutes", "referencegrants", "tlsroutes", "tcproutes", "udproutes", "backendtlspolicies"},
	}
	for group, resources := range watched {
		for _, r := range resources {
			for _, verb := range []string{"get", "list", "watch"} {
				if !grants(group, r, verb) {
					t.Errorf("ClusterRole does not grant %s on %s %q", verb, r, group)
				}
			}
			if r != "referencegrants" && (group == "gateway.networking.k8s.io" || r == "ingresses") && !grants(group, r+"/status", "update") {
				t.Errorf("ClusterRole does not grant update on %s/status", r)
			}
		}
	}

	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", dep.Spec.Replicas)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	for _, env := range []string{"POD_NAME", "POD_NAMESPACE", "POD_IP"} {
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == env && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil }) {
			t.Errorf("env %s not from the downward API", env)
		}
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/readyz" || p.HTTPGet.Port.String() != "admin" {
		t.Errorf("readiness probe %+v", p)
	}
	if !slices.Contains(c.Args, "--kubernetes") {
		t.Errorf("args %v", c.Args)
	}

	if crd == nil || crd.Spec.Group != kubernetes.PolicyGroup || crd.Spec.Names.Kind != kubernetes.PolicyKind ||
		crd.Spec.Names.Plural != "gatehousepolicies" || len(crd.Spec.Versions) != 1 || crd.Spec.Group+"/"+crd.Spec.Versions[0].Name != kubernetes.PolicyVersion {
		t.Errorf("GatehousePolicy CRD %+v", crd)
	}
	if string(gc.Spec.ControllerName) != kubernetes.DefaultControllerName {
		t.Errorf("controllerName %q", gc.Spec.ControllerName)
	}

	gateway := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: gatehouse
  listeners: [{name: http, port: 80, protocol: HTTP}]
`
	objs, err := kubernetes.Decode("gateway.yaml", []byte(gateway))
	if err != nil {
		t.Fatal(err)
	}
	docs := []configsource.Document{{Name: "base.yaml", Data: []byte(cm.Data["base.yaml"])}}
	cfg, _, err := configsource.Build(docs, objs, kubernetes.Options{SecretDir: t.TempDir()})
	if err != nil {
		t.Fatalf("ConfigMap base.yaml: %v", err)
	}
	if cfg.Admin == nil || !strings.HasSuffix(cfg.Admin.Address, ":9901") || len(cfg.Listeners) != 1 || !strings.HasSuffix(cfg.Listeners[0].Address, ":8080") {
		t.Errorf("admin %+v, listeners %+v", cfg.Admin, cfg.Listeners)
	}
}
