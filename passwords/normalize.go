package passwords

import "golang.org/x/text/unicode/norm"

// Normalize returns password in Unicode Normalization Form KC, as NIST SP 800-63B
// (section 5.1.1.2) asks of verifiers: the same password typed with a precomposed
// "é" or with "e" and a combining accent, or with a ligature "ﬁ" or the letters "fi",
// becomes the same string, and so the same hash. NFKC rather than NFC because
// compatibility characters (full-width letters, ligatures) are the ones keyboards and
// input methods swap behind the user's back.
func Normalize(password string) string {
	return norm.NFKC.String(password)
}
