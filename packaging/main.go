// Command packaging builds the ovsmesh Debian package from nfpm.yaml with
// nfpm used as a library (make package), so that building it needs
// nothing but the Go module proxy. Run from the repository root:
//
//	go run -C packaging . -root .. -version 0.1.0 -bin bin/ovsmesh -build dist/build -out dist
//
// It writes OUT/ovsmesh_VERSION_amd64.deb and prints its path.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
)

func main() {
	var o options
	flag.StringVar(&o.root, "root", ".", "repository root; the paths in nfpm.yaml and the flags are relative to it")
	flag.StringVar(&o.config, "config", "packaging/nfpm.yaml", "nfpm configuration")
	flag.StringVar(&o.version, "version", "", "Debian package version (required)")
	flag.StringVar(&o.bin, "bin", "bin/ovsmesh", "the ovsmesh binary")
	flag.StringVar(&o.build, "build", "dist/build", "generated files: ovsmesh.bash, _ovsmesh, man/*.1.gz")
	flag.StringVar(&o.out, "out", "dist", "output directory")
	flag.Parse()
	path, err := build(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "packaging:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

// options are the command's flags.
type options struct {
	root, config, version, bin, build, out string
}

// build writes the package and returns its path.
func build(o options) (string, error) {
	if o.version == "" {
		return "", fmt.Errorf("-version is required")
	}
	if err := os.Chdir(o.root); err != nil {
		return "", err
	}
	vars := map[string]string{"VERSION": o.version, "BIN": o.bin, "BUILD": o.build}
	cfg, err := nfpm.ParseFileWithEnvMapping(o.config, func(k string) string { return vars[k] })
	if err != nil {
		return "", fmt.Errorf("read %s: %w", o.config, err)
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return "", fmt.Errorf("%s: %w", o.config, err)
	}
	info = nfpm.WithDefaults(info)
	if err := nfpm.Validate(info); err != nil {
		return "", fmt.Errorf("%s: %w", o.config, err)
	}
	pkg, err := nfpm.Get("deb")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", err
	}
	target := filepath.Join(o.out, pkg.ConventionalFileName(info))
	info.Target = target
	f, err := os.Create(target)
	if err != nil {
		return "", err
	}
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		os.Remove(target)
		return "", fmt.Errorf("build %s: %w", target, err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return target, nil
}
