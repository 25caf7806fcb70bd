package h1difftest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadCorpus reads the checked-in seed corpus of a fuzz target
// (testdata/fuzz/<target>, "go test fuzz v1" files): one entry per file,
// one value per line, []byte and bool only.
func ReadCorpus(dir string) ([][]any, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		return nil, err
	}
	var out [][]any
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] != "go test fuzz v1" {
			return nil, fmt.Errorf("%s: not a fuzz corpus file", f)
		}
		var vals []any
		for _, l := range lines[1:] {
			switch {
			case strings.HasPrefix(l, "[]byte(") && strings.HasSuffix(l, ")"):
				s, err := strconv.Unquote(l[len("[]byte(") : len(l)-1])
				if err != nil {
					return nil, fmt.Errorf("%s: %v", f, err)
				}
				vals = append(vals, []byte(s))
			case l == "bool(true)" || l == "bool(false)":
				vals = append(vals, l == "bool(true)")
			default:
				return nil, fmt.Errorf("%s: unsupported value %q", f, l)
			}
		}
		out = append(out, vals)
	}
	return out, nil
}
