package config

import (
	"bufio"
	"bytes"
	"flag"
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

var update = flag.Bool("update", false, "rewrite testdata/bad from the error tables of this package's tests")

// badDir holds one file per bad-configuration case of this package's
// error tables, NAME.yaml, and want.txt with "NAME<TAB>substring" lines:
// what the tests here check with Parse, shared with the tests of
// `ovsmesh config check` (cmd/ovsmesh), which run the command on the
// same files.
const badDir = "testdata/bad"

// badCase is one row of an error table: a document and a substring of
// the error Parse must return.
type badCase struct{ name, doc, want string }

// TestBadConfigTestdata keeps testdata/bad equal to the error tables of
// this package's tests (every composite literal of a
// []struct{name, doc, want string}), so that `ovsmesh config check` is
// tested on every bad-config case the config tests cover, and checks
// that Parse and Load fail on each file with the wanted message. Run
// `go test ./config -run TestBadConfigTestdata -update` after adding a
// case.
func TestBadConfigTestdata(t *testing.T) {
	cases := tableCases(t)
	if *update {
		writeBadDir(t, cases)
	}
	got, err := readBadCases(badDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(cases) {
		t.Errorf("%s has %d cases, the error tables %d: run go test ./config -run TestBadConfigTestdata -update", badDir, len(got), len(cases))
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
			if _, err := Parse(data); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Parse error = %v, want it to contain %q", err, c.want)
			}
			_, err = Load(path)
			if err == nil || !strings.HasPrefix(err.Error(), path+": ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load error = %v, want %q, then one containing %q", err, path+": ", c.want)
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
// literal in this package's other test files, named FILE-NAME (FILE
// without _test.go, NAME with '-' for anything but letters and digits).
func tableCases(t *testing.T) []badCase {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	var cases []badCase
	seen := map[string]bool{}
	fset := token.NewFileSet()
	for _, file := range files {
		if file == "badconfig_test.go" {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		prefix := strings.TrimSuffix(file, "_test.go")
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
		t.Fatal("found no error tables in this package's tests")
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
