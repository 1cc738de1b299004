package config_test

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/identityd/identityd/config"
)

const (
	tableStart = "<!-- config-table:start -->"
	tableEnd   = "<!-- config-table:end -->"
)

// TestREADMEConfigurationTableIsGeneratedFromSettings keeps the README's table of
// settings identical to MarkdownTable, so documentation cannot drift from the code.
func TestREADMEConfigurationTableIsGeneratedFromSettings(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("../README.md does not exist yet; once it does, it must hold config.MarkdownTable() between the lines " + tableStart + " and " + tableEnd)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := config.MarkdownTable()
	block := tableStart + "\n" + want + tableEnd
	got, ok := betweenLines(string(data), tableStart, tableEnd)
	if !ok {
		t.Fatalf("README.md has no configuration table between the lines %s and %s; add this block:\n\n%s", tableStart, tableEnd, block)
	}
	if got != want {
		t.Errorf("the configuration table in README.md is out of date; replace it with this block:\n\n%s", block)
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
