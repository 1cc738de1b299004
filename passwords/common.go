package passwords

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"io"
	"slices"
	"strings"
	"sync"
)

// commonGzip is the list of common passwords: lowercase, NFKC, one a line, gzipped.
// data/README.md says where it comes from.
//
//go:embed data/common-passwords.txt.gz
var commonGzip []byte

// commonList is the decompressed list, sorted, built on first use so that importing
// the package costs nothing.
var commonList = sync.OnceValue(func() []string {
	r, err := gzip.NewReader(bytes.NewReader(commonGzip))
	if err != nil {
		panic("passwords: the embedded common-password list is corrupt: " + err.Error())
	}
	text, err := io.ReadAll(r)
	if err != nil {
		panic("passwords: the embedded common-password list is corrupt: " + err.Error())
	}
	list := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	slices.Sort(list)
	return list
})

// isCommon reports whether password, normalised and lowercased by the caller, is on
// the list.
func isCommon(lowered string) bool {
	_, found := slices.BinarySearch(commonList(), lowered)
	return found
}
