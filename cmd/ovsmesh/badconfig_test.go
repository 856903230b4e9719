package main

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// badDir holds one file per bad-configuration case of the config error
// tables of the config package's and the apps' tests, NAME.yaml, and
// want.txt with "NAME<TAB>substring" lines: what those tests check with
// config.Parse, run here through the controller's own loading and
// through `ovsmesh config check` (TestConfigCheckBadConfigs).
const badDir = "testdata/badconfig"

// errorTableFiles are the test files whose error tables make the corpus.
var errorTableFiles = []string{"../../config/*_test.go", "../../apps/*/config_test.go"}

// badCase is one row of an error table: a document and a substring of
// the error Parse must return.
type badCase struct{ name, doc, want string }

// TestBadConfigTestdata keeps testdata/badconfig equal to the config
// error tables of the config and apps tests (every composite literal of
// a []struct{name, doc, want string}; cases of the config package's
// test-only "demo" section are left out), so that `ovsmesh config check`
// is tested on every bad-config case those tests cover, and checks that
// the controller's own loading fails on each file with the wanted
// message. Run `go test ./cmd/ovsmesh -run TestBadConfigTestdata
// -update` after adding a case.
func TestBadConfigTestdata(t *testing.T) {
	cases := tableCases(t)
	if *updateDocs {
		writeBadDir(t, cases)
	}
	got, err := readBadCases(badDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Errorf("%s has %d cases, the error tables %d: run go test ./cmd/ovsmesh -run TestBadConfigTestdata -update", badDir, len(got), len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, ok := got[c.name]
			if !ok || want != c.want {
				t.Fatalf("%s: want %q in want.txt, have %q (present %v): run with -update", c.name, c.want, want, ok)
			}
			path := filepath.Join(badDir, c.name+".yaml")
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if string(data) != c.doc {
				t.Fatalf("%s differs from the table's document: run with -update", path)
			}
			_, err = checkConfig(controllerFlags{config: path})
			if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("loading error = %v, want %q, then one containing %q", err, path+": ", c.want)
			}
		})
	}
}

// readBadCases reads dir/want.txt: case name to wanted error substring.
// Each case's document is dir/NAME.yaml.
func readBadCases(dir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, "want.txt"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		name, want, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			return nil, fmt.Errorf("%s line %d: want NAME<TAB>substring", f.Name(), n)
		}
		out[name] = want
	}
	return out, sc.Err()
}

// tableCases returns the rows of every []struct{name, doc, want string}
// literal in errorTableFiles, named DIR-FILE-NAME (DIR the package's
// directory, FILE without _test.go, NAME with '-' for anything but
// letters and digits), without the cases of the test-only demo section.
func tableCases(t *testing.T) []badCase {
	t.Helper()
	var files []string
	for _, g := range errorTableFiles {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	var cases []badCase
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		prefix := filepath.Base(filepath.Dir(file)) + "-" + strings.TrimSuffix(filepath.Base(file), "_test.go")
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok || !isErrorTable(lit.Type) {
				return true
			}
			for _, e := range lit.Elts {
				row, ok := e.(*ast.CompositeLit)
				if !ok || len(row.Elts) != 3 {
					t.Fatalf("%s: a row of an error table is not {name, doc, want}", fset.Position(e.Pos()))
				}
				var v [3]string
				for i, el := range row.Elts {
					b, ok := el.(*ast.BasicLit)
					if !ok || b.Kind != token.STRING {
						t.Fatalf("%s: an error table row holds a non-literal; keep them string literals", fset.Position(el.Pos()))
					}
					if v[i], err = strconv.Unquote(b.Value); err != nil {
						t.Fatal(err)
					}
				}
				c := badCase{name: prefix + "-" + slug(v[0]), doc: v[1], want: v[2]}
				if strings.Contains(c.doc, "demo") {
					continue // the config package's test-only section
				}
				if seen[c.name] {
					t.Fatalf("%s: two error cases are named %s", fset.Position(e.Pos()), c.name)
				}
				seen[c.name] = true
				cases = append(cases, c)
			}
			return false
		})
	}
	if len(cases) == 0 {
		t.Fatal("found no config error tables")
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	return cases
}

// isErrorTable reports whether typ is []struct{name, doc, want string}.
func isErrorTable(typ ast.Expr) bool {
	arr, ok := typ.(*ast.ArrayType)
	if !ok || arr.Len != nil {
		return false
	}
	st, ok := arr.Elt.(*ast.StructType)
	if !ok {
		return false
	}
	var names []string
	for _, f := range st.Fields.List {
		if id, ok := f.Type.(*ast.Ident); !ok || id.Name != "string" {
			return false
		}
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
	}
	return strings.Join(names, ",") == "name,doc,want"
}

func slug(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, strings.ToLower(s))
}

// writeBadDir replaces testdata/bad with cases.
func writeBadDir(t *testing.T, cases []badCase) {
	t.Helper()
	if err := os.RemoveAll(badDir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(badDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for _, c := range cases {
		if strings.ContainsAny(c.want, "\t\n") {
			t.Fatalf("%s: a wanted message with a tab or newline does not fit want.txt", c.name)
		}
		fmt.Fprintf(&want, "%s\t%s\n", c.name, c.want)
		if err := os.WriteFile(filepath.Join(badDir, c.name+".yaml"), []byte(c.doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(badDir, "want.txt"), want.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
