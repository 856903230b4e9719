package ovsdb

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ovn-kubernetes/libovsdb/modelgen"
	libovsdb "github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// TestGeneratedModelsAreCurrent regenerates the vswitchd models from
// vswitch.ovsschema into a temp dir, exactly as the go:generate line in
// doc.go does (libovsdb's cmd/modelgen), and fails when the committed
// files differ or are missing or extra. Fix with "go generate ./ovsdb/...".
func TestGeneratedModelsAreCurrent(t *testing.T) {
	data, err := os.ReadFile("vswitch.ovsschema")
	if err != nil {
		t.Fatal(err)
	}
	var schema libovsdb.DatabaseSchema
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatalf("parse vswitch.ovsschema: %v", err)
	}
	const pkg = "vswitchd"
	out := t.TempDir()
	gen, err := modelgen.NewGenerator()
	if err != nil {
		t.Fatal(err)
	}
	for name, table := range schema.Tables {
		args := modelgen.GetTableTemplateData(pkg, name, &table)
		if err := gen.Generate(filepath.Join(out, modelgen.FileName(name)), modelgen.NewTableTemplate(), args); err != nil {
			t.Fatal(err)
		}
	}
	if err := gen.Generate(filepath.Join(out, "model.go"), modelgen.NewDBTemplate(), modelgen.GetDBTemplateData(pkg, schema)); err != nil {
		t.Fatal(err)
	}

	want := goFiles(t, out)
	have := goFiles(t, pkg)
	for _, name := range want {
		got, err := os.ReadFile(filepath.Join(pkg, name))
		if err != nil {
			t.Errorf("%s/%s missing: run go generate ./ovsdb/...", pkg, name)
			continue
		}
		exp, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, exp) {
			t.Errorf("%s/%s is stale: run go generate ./ovsdb/...", pkg, name)
		}
	}
	for _, name := range have {
		if !slices.Contains(want, name) {
			t.Errorf("%s/%s is not generated from vswitch.ovsschema: remove it", pkg, name)
		}
	}
}

// goFiles lists the non-test .go files in dir.
func goFiles(t *testing.T, dir string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range matches {
		if base := filepath.Base(m); !strings.HasSuffix(base, "_test.go") {
			out = append(out, base)
		}
	}
	return out
}
