package main

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/ovsmesh/ovsmesh/apps"
)

var updateDocs = flag.Bool("update", false, "rewrite the generated block of docs/pipeline.md")

const (
	pipelineDoc   = "../../docs/pipeline.md"
	pipelineBegin = "<!-- pipeline:begin (generated from the apps' Specs: go test ./cmd/ovsmesh -run TestPipelineDoc -update) -->\n"
	pipelineEnd   = "<!-- pipeline:end -->\n"
)

// TestPipelineDoc keeps the stage table of docs/pipeline.md equal to the
// pipeline the registry composes from the built-in apps: the table list
// is derived, never kept by hand.
func TestPipelineDoc(t *testing.T) {
	r, err := apps.NewRegistry(builtins...)
	if err != nil {
		t.Fatal(err)
	}
	want := r.Pipeline().Markdown(r.AppName)
	data, err := os.ReadFile(pipelineDoc)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	i, j := strings.Index(doc, pipelineBegin), strings.Index(doc, pipelineEnd)
	if i < 0 || j < i {
		t.Fatalf("%s lacks the generated block (%q ... %q)", pipelineDoc, pipelineBegin, pipelineEnd)
	}
	got := doc[i+len(pipelineBegin) : j]
	if got == want {
		return
	}
	if *updateDocs {
		if err := os.WriteFile(pipelineDoc, []byte(doc[:i+len(pipelineBegin)]+want+doc[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("%s is stale (go test ./cmd/ovsmesh -run TestPipelineDoc -update):\n--- in the file\n%s--- composed\n%s", pipelineDoc, got, want)
}
