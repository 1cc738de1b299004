package config

import (
	"strconv"
	"strings"
)

// maxTypo is the largest edit distance still treated as a typo of a known name: two
// slips (a swapped pair, a missing and a doubled letter) and no more, so unrelated
// names are never "corrected".
const maxTypo = 2

// closest returns the candidate nearest to name, ignoring case, if it is within
// maxTypo edits; ties go to the earlier candidate, which follows the settings table.
func closest(name string, candidates []string) (string, bool) {
	name = strings.ToLower(name)
	best, bestDist := "", maxTypo+1
	for _, c := range candidates {
		if d := distance(name, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, bestDist <= maxTypo
}

// distance is the Levenshtein distance between a and b, or maxTypo+1 once it is known to
// be larger, so that long unrelated names cost nothing.
func distance(a, b string) int {
	if len(a)-len(b) > maxTypo || len(b)-len(a) > maxTypo {
		return maxTypo + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// printableName is an unknown name as a Problem key: as written when it is plain, quoted
// otherwise, so a name holding control characters cannot mess up a terminal.
func printableName(name string) string {
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return shown(name)
		}
	}
	if name == "" {
		return strconv.Quote(name)
	}
	return name
}
