// Command gatehouse is an API gateway and load balancer in one binary.
//
//	gatehouse run -c FILE|DIR       serve a configuration
//	gatehouse validate -c FILE|DIR  check a configuration and exit
//	gatehouse translate -c FILE|DIR print the Gatehouse configuration of Kubernetes manifests
//	gatehouse version               print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"

	"github.com/gatehouse/gatehouse/internal/config"
	"github.com/gatehouse/gatehouse/internal/gateway"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

const usage = `Gatehouse: an API gateway and load balancer in one binary.

Usage:
  gatehouse run -c FILE|DIR        serve the configuration (reloads on SIGHUP and file change)
  gatehouse run --kubernetes       serve a cluster's Gateway API and Ingress objects (live controller)
  gatehouse validate -c FILE|DIR   check the configuration; print every error as file:line
  gatehouse translate -c FILE|DIR  print what Gateway API / Ingress manifests become, with their status
  gatehouse version                print the version

Run "gatehouse COMMAND --help" for a command's flags.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "run":
		return cmdRun(args[1:], stderr)
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "translate":
		return cmdTranslate(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "gatehouse %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func buildVersion() string {
	if version != "dev" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return version
}

// configFlags parses the flags shared by run and validate.
func configFlags(name, help string, args []string, stderr io.Writer) (path, level string, code int, ok bool) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&path, "c", "", "configuration `FILE or DIR` (every *.yaml in a directory is merged)")
	fs.StringVar(&level, "log-level", "", "override log.level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: gatehouse %s -c FILE|DIR\n\n%s\n\nFlags:\n", name, help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", "", 0, false
		}
		return "", "", 2, false
	}
	if path == "" || fs.NArg() > 0 {
		fs.Usage()
		return "", "", 2, false
	}
	return path, level, 0, true
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	path, _, code, ok := configFlags("validate", "Checks the configuration and prints every problem as file:line: what is wrong (hint).", args, stderr)
	if !ok {
		return code
	}
	fm, err := newFileMode(path, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer fm.cleanup()
	cfg, err := fm.load()
	if err == nil {
		err = gateway.Check(cfg)
	}
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration is valid (%d listeners, %d upstreams, %d routes)\n", path, len(cfg.Listeners), len(cfg.Upstreams), len(cfg.Routes))
	return 0
}

func printErrors(w io.Writer, err error) {
	var errs config.Errors
	if errors.As(err, &errs) {
		for _, e := range errs {
			fmt.Fprintln(w, e.Error())
		}
		return
	}
	fmt.Fprintln(w, err.Error())
}

func cmdRun(args []string, stderr io.Writer) int {
	if kubernetesMode(args) {
		return cmdRunKubernetes(args, stderr) // kubernetes.go
	}
	path, level, code, ok := configFlags("run", "Serves the configuration. SIGHUP or a change to the files reloads it without dropping a request; SIGTERM or SIGINT stops gracefully.", args, stderr)
	if !ok {
		return code
	}
	fm, err := newFileMode(path, nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer fm.cleanup()
	if level == "" {
		// The level comes from the file; read it before logging anything.
		if cfg, err := fm.load(); err == nil {
			level = cfg.Log.Level
		}
	}
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		lv = slog.LevelInfo
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lv}))
	if f := os.Getenv("GATEHOUSE_CPU_PROFILE"); f != "" {
		// A profiling aid: the whole run's CPU profile, written on exit.
		out, err := os.Create(f)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		pprof.StartCPUProfile(out)
		defer func() { pprof.StopCPUProfile(); out.Close() }()
	}
	fm.log = log
	gw := fm.gateway()
	if err := gw.Run(context.Background()); err != nil {
		printErrors(stderr, err)
		return 1
	}
	return 0
}
