package kubernetes

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func TestDecodeLines(t *testing.T) {
	objs := load(t, "article.yaml")
	lines := []int{}
	for _, o := range objs {
		lines = append(lines, o.Line)
	}
	if want := []int{1, 18, 37, 48}; !slices.Equal(lines, want) {
		t.Errorf("document lines %v, want %v", lines, want)
	}
	if _, ok := objs[1].Obj.(*gwv1.HTTPRoute); !ok || objs[1].APIVersion != "gateway.networking.k8s.io/v1beta1" {
		t.Errorf("v1beta1 HTTPRoute decoded as %T", objs[1].Obj)
	}
}

func TestDecodeErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/unknown_field.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file, data string
		want             string
		notManifest      bool
		objs             int
	}{
		{name: "unknown field", file: "unknown_field.yaml", data: string(data),
			want: `unknown_field.yaml:16: HTTPRoute gateway.networking.k8s.io/v1: unknown field "matchez"`, objs: 1},
		{name: "wrong type", file: "t.yaml", data: "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: eighty\n",
			want: "t.yaml:7: Service v1: cannot unmarshal string into Go struct field ServicePort.spec.ports.port of type int32", objs: 0},
		{name: "yaml syntax", file: "s.yaml", data: "apiVersion: v1\nkind: Service\n---\napiVersion: v1\nkind: [\n",
			want: "s.yaml:5: invalid YAML", objs: 1},
		{name: "not a manifest", file: "g.yaml", data: "listeners:\n- name: web\n  address: :80\n",
			want: "g.yaml:1: document has no apiVersion and kind", notManifest: true},
		{name: "duplicate key", file: "d.yaml", data: "apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n",
			want: `d.yaml:5: Service v1: unmarshal errors: line 5: key "name" already set in map`, objs: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs, err := Decode(tc.file, []byte(tc.data))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error %q, want prefix %q", err, tc.want)
			}
			var es Errors
			if !errors.As(err, &es) || es[0].NotManifest != tc.notManifest {
				t.Errorf("NotManifest = %v", es)
			}
			if len(objs) != tc.objs {
				t.Errorf("%d objects kept, want %d", len(objs), tc.objs)
			}
		})
	}
}

func TestIsManifest(t *testing.T) {
	for in, want := range map[string]bool{
		"apiVersion: v1\nkind: Service\n":                 true,
		"# c\n---\n\n---\napiVersion: v1\nkind: Secret\n": true,
		"listeners: []\n":                                 false,
		"kind: Service\n":                                 false,
		"":                                                false,
		"[":                                               false,
	} {
		if got := IsManifest([]byte(in)); got != want {
			t.Errorf("IsManifest(%q) = %v", in, got)
		}
	}
}

func TestTranslateDecodedErrors(t *testing.T) {
	// Unknown kinds are kept with a nil Obj and ignored by Translate.
	objs := load(t, "full.yaml", fullRepl(t)...)
	last := objs[len(objs)-1]
	if last.Kind != "Deployment" || last.Obj != nil {
		t.Errorf("last object %+v", last)
	}
}
