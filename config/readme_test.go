package config_test

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/identityd/identityd/config"
)

const (
	tableStart = "<!-- config-table:start -->"
	tableEnd   = "<!-- config-table:end -->"
)

// updateREADME rewrites the table instead of checking it:
//
//	go test ./config -run README -update
var updateREADME = flag.Bool("update", false, "rewrite the configuration table in ../README.md")

// TestREADMEConfigurationTableIsGeneratedFromSettings keeps the README's table of
// settings identical to MarkdownTable, so documentation cannot drift from the code.
func TestREADMEConfigurationTableIsGeneratedFromSettings(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want := config.MarkdownTable()
	block := tableStart + "\n" + want + tableEnd
	got, ok := betweenLines(string(data), tableStart, tableEnd)
	if !ok {
		t.Fatalf("README.md has no configuration table between the lines %s and %s; add this block:\n\n%s", tableStart, tableEnd, block)
	}
	if got != want && *updateREADME {
		text := strings.Replace(string(data), tableStart+"\n"+got+tableEnd, block, 1)
		if err := os.WriteFile("../README.md", []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != want {
		t.Errorf("the configuration table in README.md is out of date; run go test ./config -run README -update, or replace it with this block:\n\n%s", block)
	}
}

// betweenLines returns the text between the line that is exactly start and the next
// line that is exactly end, each of its lines ending in a newline.
func betweenLines(text, start, end string) (string, bool) {
	lines := strings.SplitAfter(text, "\n")
	from := -1
	for i, line := range lines {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case from < 0 && line == start:
			from = i + 1
		case from >= 0 && line == end:
			return strings.Join(lines[from:i], ""), true
		}
	}
	return "", false
}
