package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestErrorRendering(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{Pos{"a.yaml", 3}, "bad", ""}, "a.yaml:3: bad"},
		{Error{Pos{"a.yaml", 3}, "bad", "fix it"}, "a.yaml:3: bad (fix it)"},
		{Error{Pos{"conf.d", 0}, "empty", ""}, "conf.d: empty"},
		{Error{Pos{"", 7}, "bad", ""}, "line 7: bad"},
		{Error{Pos{}, "bad", ""}, "bad"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
	es := Errors{&cases[0].e, &cases[1].e}
	if es.Error() != "a.yaml:3: bad\na.yaml:3: bad (fix it)" {
		t.Errorf("Errors.Error() = %q", es.Error())
	}
}

func TestErrorsUnwrap(t *testing.T) {
	// errors.As reaches individual problems, e.g. to print the first one.
	_, err := Parse("x.yaml", []byte("log: {level: loud}\n"))
	var one *Error
	if !errors.As(err, &one) || one.File != "x.yaml" {
		t.Fatalf("errors.As(*Error) failed on %v", err)
	}
}

func TestSyntaxErrorSkipsValidation(t *testing.T) {
	// A file that is not YAML contributed nothing; "no listeners defined"
	// would only distract from the real problem.
	got := parseErrs(t, "listeners: [\n")
	if len(got) != 1 {
		t.Errorf("got %d errors: %v", len(got), got)
	}
}

func TestBodyFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.html"), make([]byte, maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "gatehouse.yaml")
	if err := os.WriteFile(cfg, []byte(minimal+"routes:\n  - {name: r, respond: {body_file: big.html}}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(cfg)
	want := cfg + `:5: route "r": body_file ` + filepath.Join(dir, "big.html") + ` is larger than 8 MiB (keep bodies small; serve large files from an upstream)`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}
