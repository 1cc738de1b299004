package audit_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/identityd/identityd/audit"
)

// updateREADME rewrites the catalogue table instead of checking it:
//
//	go test ./audit -run README -update
var updateREADME = flag.Bool("update", false, "rewrite the audit event table in ../README.md")

const (
	catalogueStart = "<!-- audit-events:start -->"
	catalogueEnd   = "<!-- audit-events:end -->"
)

// TestREADMEEventTableIsTheCatalogue keeps the README's table of event types identical to
// the catalogue, so the documentation cannot drift from what is recorded.
func TestREADMEEventTableIsTheCatalogue(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	start, end := strings.Index(text, catalogueStart+"\n"), strings.Index(text, catalogueEnd)
	if start < 0 || end < start {
		t.Fatalf("README.md has no event table between %s and %s", catalogueStart, catalogueEnd)
	}
	got, want := text[start+len(catalogueStart)+1:end], audit.MarkdownTable()
	if got == want {
		return
	}
	if *updateREADME {
		if err := os.WriteFile("../README.md", []byte(text[:start+len(catalogueStart)+1]+want+text[end:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("the event table in README.md is out of date; run go test ./audit -run README -update")
}
