package kubernetes

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/config"
)

// FuzzDecode: any input gives objects and/or located errors, never a
// panic; whatever decodes translates into configuration that Gatehouse's
// own loader accepts (config.Parse), whatever the manifests held (policy
// specs aside).
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/*.yaml")
	more, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range append(seeds, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode("f.yaml", data)
		if err != nil {
			if es, ok := err.(Errors); !ok || len(es) == 0 || es[0].File != "f.yaml" || es[0].Line < 1 {
				t.Fatalf("unlocated error %v", err)
			}
		}
		dir := t.TempDir()
		res := Translate(objs, Options{SecretDir: filepath.Join(dir, "s")})
		y, err := res.Encode()
		if err != nil {
			t.Fatal(err)
		}
		// GatehousePolicy specs are decoded here but validated with the
		// whole configuration (they may name consumers and plans of the
		// Gatehouse YAML), so the promise excludes them.
		if len(res.Config.Listeners) > 0 && len(res.policyNodes) == 0 {
			if err := res.WriteFiles(); err != nil {
				t.Fatal(err)
			}
			if _, err := config.Parse(filepath.Join(dir, "g.yaml"), y); err != nil {
				t.Fatalf("translation rejected by config.Parse: %v\n%s", err, y)
			}
		}
		IsManifest(data)
	})
}
