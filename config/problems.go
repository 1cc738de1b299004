package config

import (
	"sort"
	"strconv"
	"strings"
)

// redacted stands in for the value of a secret setting wherever a value would be shown.
const redacted = "[redacted]"

// maxShownValue caps how much of a value a problem prints, in characters, so a stray
// multi-kilobyte value does not bury the other problems.
const maxShownValue = 80

// configFileKey is the Key of problems about the configuration file as a whole. It has a
// space so it cannot be mistaken for a setting.
const configFileKey = "config file"

// Problem is one thing wrong with the configuration, said so that an operator can fix
// it without reading code.
type Problem struct {
	// Key is the setting, or the unknown name as written, or "config file".
	Key string
	// Source is where the value came from: an environment variable such as
	// "IDENTITYD_LOG_LEVEL", a place such as "config.yaml line 3", or "default".
	Source string
	// Value is the offending value as written, or one item of a list. It is empty when
	// the problem has no value (a missing setting, an unknown name), and "[redacted]"
	// for secret settings.
	Value string
	// Why says what is wrong, Fix what to do about it; both are phrases without a
	// final period.
	Why, Fix string
}

// Problems is every problem found in one Load, in a stable order: the configuration
// file as a whole, then settings in the order of Settings, then unknown names.
type Problems []Problem

// Error renders one line per problem:
//
//	<key> = <value> (from <source>): <why>. Fix: <fix>.
//
// with the value Go-quoted and cut to 80 characters, or [redacted] for secret settings,
// and without " = <value>" when the problem has no value.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.render()
	}
	return strings.Join(lines, "\n")
}

func (p Problem) render() string {
	var b strings.Builder
	b.WriteString(p.Key)
	if p.Value != "" {
		b.WriteString(" = ")
		// Decided by the key, not by what the creator put in Value, so a secret cannot
		// leak even through a Problem built elsewhere.
		if s, _ := lookup(p.Key); s != nil && s.secret {
			b.WriteString(redacted)
		} else {
			b.WriteString(shown(p.Value))
		}
	}
	b.WriteString(" (from " + p.Source + "): " + sentence(p.Why) + " Fix: " + sentence(p.Fix))
	return b.String()
}

// shown quotes v so control characters cannot mess up a terminal, cut to maxShownValue
// characters; the ellipsis stays outside the quotes so what is quoted is really there.
func shown(v string) string {
	r := []rune(v)
	if len(r) <= maxShownValue {
		return strconv.Quote(v)
	}
	return strconv.Quote(string(r[:maxShownValue])) + "..."
}

// sentence ends s with a period unless it already ends a sentence ("did you mean X?").
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

// sortProblems orders ps as Problems documents. The sort is stable, so problems of one
// setting keep the order they were found in: file, environment, default, validation.
func sortProblems(ps Problems) {
	rank := func(p Problem) int {
		if p.Key == configFileKey {
			return -1
		}
		if _, i := lookup(p.Key); i >= 0 {
			return i
		}
		return len(settings)
	}
	sort.SliceStable(ps, func(i, j int) bool { return rank(ps[i]) < rank(ps[j]) })
}
