package config

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGoldenFull loads a configuration using every section and pins the
// complete result: defaults, normalization, resolved paths and positions.
func TestGoldenFull(t *testing.T) {
	c, err := Load("testdata/full/gatehouse.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	abs, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	got = bytes.ReplaceAll(got, []byte(abs), []byte("TESTDATA"))
	const golden = "testdata/full.golden.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("result differs from %s (run with -update to accept):\n%s", golden, got)
	}
}
