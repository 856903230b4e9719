package arch

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ovsmesh/ovsmesh"

// imports maps each package of the module (import path) to the set of
// import paths its .go files name, tests included.
func imports(t *testing.T) map[string]map[string]bool {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]bool{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "bin" || name == "dist") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		pkg := path.Join(module, filepath.ToSlash(rel))
		if out[pkg] == nil {
			out[pkg] = map[string]bool{}
		}
		for _, imp := range f.Imports {
			out[pkg][strings.Trim(imp.Path.Value, `"`)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// deps returns every module package pkg reaches through imports.
func deps(all map[string]map[string]bool, pkg string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for imp := range all[p] {
			if strings.HasPrefix(imp, module+"/") && !seen[imp] {
				seen[imp] = true
				walk(imp)
			}
		}
	}
	walk(pkg)
	return seen
}

// TestLayering enforces the architecture's import rules:
//   - only flows (and its test support) speaks OpenFlow through
//     netrack/openflow;
//   - an app never imports another app: apps meet only in topo and
//     through the seam package apps;
//   - flows, the wire layer, depends on no domain package (topo, config,
//     controller, apps).
func TestLayering(t *testing.T) {
	all := imports(t)
	if len(all) < 10 {
		t.Fatalf("found only %d packages: wrong root?", len(all))
	}
	var pkgs []string
	for p := range all {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	flows := module + "/flows"
	appsRoot := module + "/apps/"
	for _, p := range pkgs {
		for imp := range all[p] {
			if strings.HasPrefix(imp, "github.com/netrack/openflow") && p != flows && !strings.HasPrefix(p, flows+"/") {
				t.Errorf("%s imports %s: only %s may speak OpenFlow through netrack", p, imp, flows)
			}
			if app, ok := strings.CutPrefix(p, appsRoot); ok {
				if other, ok := strings.CutPrefix(imp, appsRoot); ok && strings.Split(other, "/")[0] != strings.Split(app, "/")[0] {
					t.Errorf("app %s imports app %s: apps meet only in topo and through the apps seam", p, imp)
				}
			}
		}
	}
	for d := range deps(all, flows) {
		for _, banned := range []string{"/topo", "/config", "/controller", "/apps", "/api"} {
			if d == module+banned || strings.HasPrefix(d, module+banned+"/") {
				t.Errorf("flows reaches %s: the wire layer must not depend on domain packages", d)
			}
		}
	}
}
