package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxFileSize caps every file the configuration reads (YAML, PEM, body
// files). Configuration is small; the cap keeps a wrong path such as
// /dev/zero or a huge log file from exhausting memory.
const maxFileSize = 8 << 20

// Load reads a YAML file, or every *.yaml / *.yml file (non-recursive,
// lexical order) in a directory, merged into one Config. Lists are
// concatenated in file order; singleton sections may appear in one file
// only. The result has defaults applied and is fully validated.
//
// Problems in the content are returned as Errors; a path that cannot be
// read is returned as the plain I/O error, which names the path.
func Load(path string) (*Config, error) {
	srcs, err := ReadSources(path)
	if err != nil {
		return nil, err
	}
	return LoadSources(srcs)
}

// Source is one YAML text to load. Name is the file name used in
// messages and as the base of relative paths; Generated marks text that
// no file holds (such as configuration translated from Kubernetes
// manifests), which is left out of Config.Files and so not watched.
type Source struct {
	Name      string
	Data      []byte
	Generated bool
}

// ReadSources reads what Load would load from path, without decoding:
// the file, or the directory's configuration files in lexical order.
// Files that are not regular or too large are reported as Errors.
func ReadSources(path string) ([]Source, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if st.IsDir() {
		if files, err = configFiles(path); err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, Errors{{Pos: Pos{File: path}, Msg: "directory contains no *.yaml or *.yml files",
				Hint: "add a configuration file or point at a file instead"}}
		}
	}
	var errs collector
	srcs := make([]Source, 0, len(files))
	for _, f := range files {
		data, err := readFile(f)
		if err != nil {
			var p *problem
			if errors.As(err, &p) {
				errs.add(Pos{File: f}, p.hint, "file %s", p.msg)
				continue
			}
			return nil, err
		}
		srcs = append(srcs, Source{Name: f, Data: data})
	}
	if err := errs.result(); err != nil {
		return nil, err
	}
	return srcs, nil
}

// LoadSources decodes and merges sources as Load does files, applies
// defaults and validates.
func LoadSources(srcs []Source) (*Config, error) {
	var errs collector
	d := newDecoder(&errs)
	cfg := &Config{}
	for _, s := range srcs {
		if len(s.Data) > maxFileSize {
			errs.add(Pos{File: s.Name}, "split it into several files in a directory",
				"file is larger than %d MiB", maxFileSize>>20)
			d.unparsable = true
			continue
		}
		d.decodeDocument(s.Name, s.Data, cfg)
		if !s.Generated {
			cfg.Files = append(cfg.Files, s.Name)
		}
	}
	return finish(cfg, d)
}

// Parse parses one document; name is the file name used in messages and
// the base for relative paths in it. The result is final, like Load's.
func Parse(name string, data []byte) (*Config, error) {
	var errs collector
	d := newDecoder(&errs)
	cfg := &Config{Files: []string{name}}
	if len(data) > maxFileSize {
		errs.add(Pos{File: name}, "split it into several files in a directory",
			"file is larger than %d MiB", maxFileSize>>20)
		return nil, errs.result()
	}
	d.decodeDocument(name, data, cfg)
	return finish(cfg, d)
}

// finish applies defaults and validates; decode errors do not stop
// validation, so one run reports every problem. A file that is not YAML
// at all contributed nothing, so validating the rest would only produce
// misleading follow-ups such as "no listeners defined".
func finish(cfg *Config, d *decoder) (*Config, error) {
	if d.aborted || d.unparsable {
		return nil, d.errs.result()
	}
	applyDefaults(cfg, d.set)
	validate(cfg, d.set, d.errs)
	if err := d.errs.result(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// configFiles lists a directory's configuration files. Hidden entries are
// skipped and symlinks are followed, which is how Kubernetes ConfigMap
// volumes present files (name -> ..data/name).
func configFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		ext := strings.ToLower(filepath.Ext(name))
		if strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		p := filepath.Join(dir, name)
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if st.Mode().IsRegular() {
			files = append(files, p)
		}
	}
	return files, nil
}

// readFile reads a regular file of at most maxFileSize bytes. Content
// problems (not regular, too large) are returned as *problem whose message
// reads after the file's name ("is not a regular file"); I/O failures are
// returned as is.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		// Devices and FIFOs could block or never end.
		return nil, newProblem("point at a regular file", "is not a regular file")
	}
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, newProblem("", "is larger than %d MiB", maxFileSize>>20)
	}
	return data, nil
}

// yamlLine extracts the line from yaml.v3's "yaml: line N: msg" errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decodeDocument parses one file and decodes it into cfg.
func (d *decoder) decodeDocument(name string, data []byte, cfg *Config) {
	d.file = name
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := safeDecode(dec, &root); err != nil {
		if err != io.EOF { // io.EOF: empty file or only comments
			d.yamlError(err, data)
		}
		return
	}
	// A second document would be silently ignored by most loaders; say so
	// instead. A trailing empty document ("---" at the end) is harmless.
	var next yaml.Node
	switch err := safeDecode(dec, &next); {
	case err == io.EOF:
	case err != nil:
		d.yamlError(err, data)
		return
	case len(next.Content) > 0 && !isNull(next.Content[0]):
		d.errs.add(Pos{File: name, Line: next.Line}, "put each document in its own file and load the directory",
			"file contains more than one YAML document")
		d.unparsable = true
		return
	}
	if len(root.Content) == 0 {
		return
	}
	d.decodeTop(root.Content[0], cfg)
}

// safeDecode shields the process from a panic inside the YAML parser:
// bad input must never take the gateway down, even through a dependency.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: parser failed: %v", r)
		}
	}()
	return dec.Decode(n)
}

func (d *decoder) yamlError(err error, data []byte) {
	d.unparsable = true
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	hint := ""
	if line > 0 {
		if lines := bytes.Split(data, []byte("\n")); line <= len(lines) && bytes.Contains(lines[line-1], []byte("\t")) {
			hint = "YAML does not allow tabs for indentation; use spaces"
		}
	}
	d.errs.add(Pos{File: d.file, Line: line}, hint, "invalid YAML: %s", msg)
}
