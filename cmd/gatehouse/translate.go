package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/configsource"
	"github.com/gatehouse/gatehouse/internal/kubernetes"
)

const translateHelp = `Translates Kubernetes Gateway API and Ingress manifests (a file, or every
*.yaml / *.yml in a directory; files of Gatehouse's own YAML only lend their
kubernetes section and upstream names) into
Gatehouse configuration and prints it, with the status conditions a controller
would write as comments at the top. The output is checked with the same rules
as "gatehouse validate". Exit status 1 with file:line messages on stderr when
a manifest cannot be used (the rest is still printed).`

// cmdTranslate is "gatehouse translate": the offline view of what the
// manifests become, for debugging them without a cluster.
func cmdTranslate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("translate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var path string
	var opts kubernetes.Options
	fs.StringVar(&path, "c", "", "manifests `FILE or DIR`")
	fs.StringVar(&opts.SecretDir, "secret-dir", "", "write the PEM files of TLS Secrets into `DIR` (default: not written; listeners name them under ./secrets)")
	fs.StringVar(&opts.ControllerName, "controller-name", "", "GatewayClass controllerName served (default "+kubernetes.DefaultControllerName+")")
	fs.StringVar(&opts.ListenHost, "listen-host", "", "host part of listener addresses (default all interfaces)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gatehouse translate -c FILE|DIR\n\n%s\n\nFlags:\n", translateHelp)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if path == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	writeSecrets := opts.SecretDir != ""
	objs, docs, problems, err := readManifests(path)
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	res := kubernetes.Translate(objs, configsource.Options(docs, opts))
	problems = append(problems, res.Errors...)
	out, err := res.Encode()
	if err == nil {
		err = checkTranslated(res, out, writeSecrets)
	}
	if err != nil { // the translator promises loadable output: a bug if not
		printErrors(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "# Translated by gatehouse translate from %d manifests in %s\n", len(objs), path)
	printStatuses(stdout, res.Statuses)
	stdout.Write(out)
	for _, p := range problems {
		fmt.Fprintln(stderr, p)
	}
	if len(problems) > 0 {
		return 1
	}
	return 0
}

// readManifests decodes every manifest file under path and returns the
// files of Gatehouse's own YAML beside them, whose kubernetes section and
// upstream names shape the translation.
func readManifests(path string) ([]kubernetes.Object, []configsource.Document, []error, error) {
	docs, objs, decodeErrs, err := configsource.Read(path)
	if err != nil {
		return nil, nil, nil, err
	}
	problems := make([]error, len(decodeErrs))
	for i, e := range decodeErrs {
		problems[i] = e
	}
	return objs, docs, problems, nil
}

// printStatuses writes the conditions as YAML comments, one line each.
func printStatuses(w io.Writer, st []kubernetes.Status) {
	if len(st) == 0 {
		return
	}
	sorted := append([]kubernetes.Status(nil), st...)
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := sorted[i], sorted[j]
		return a.Kind+"/"+a.Namespace+"/"+a.Name < b.Kind+"/"+b.Namespace+"/"+b.Name
	})
	fmt.Fprintln(w, "#\n# Status:")
	for _, s := range sorted {
		name := fmt.Sprintf("%s %s/%s", s.Kind, s.Namespace, s.Name)
		if s.Section != "" {
			name += " [" + s.Section + "]"
		}
		for _, c := range s.Conditions {
			line := fmt.Sprintf("#   %s: %s=%s (%s)", name, c.Type, c.Status, c.Reason)
			if c.Message != "" {
				line += ": " + strings.ReplaceAll(c.Message, "\n", " ")
			}
			fmt.Fprintln(w, line)
		}
	}
	fmt.Fprintln(w, "#")
}

// checkTranslated loads the output as "gatehouse validate" would. The
// certificate files it names must exist for that: written where they
// belong with -secret-dir, else into a scratch directory that stands in
// for the output file's own, removed afterwards.
func checkTranslated(res *kubernetes.Result, out []byte, writeSecrets bool) error {
	if writeSecrets {
		if err := res.WriteFiles(); err != nil {
			return err
		}
		_, err := config.Parse("translated.yaml", out)
		return err
	}
	dir, err := os.MkdirTemp("", "gatehouse-translate-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for p, data := range res.Files {
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return err
		}
	}
	_, err = config.Parse(filepath.Join(dir, "translated.yaml"), out)
	return err
}
