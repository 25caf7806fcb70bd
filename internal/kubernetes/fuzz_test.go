package kubernetes

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode: any input gives objects and/or located errors, never a
// panic; whatever decodes also translates and encodes without panicking.
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
		res := Translate(objs, Options{SecretDir: "s"})
		if _, err := Encode(res.Config); err != nil {
			t.Fatal(err)
		}
		IsManifest(data)
	})
}
