package passwords

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// parseDecimal reads a decimal number the way the systems that wrote the hashes print
// one: digits only, no leading zeros (passlib refuses them, and Django's re-encoding
// would never match them), at most bits wide.
func parseDecimal(s string, bits int) (uint64, bool) {
	if len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, bits)
	return n, err == nil
}

// The base64 flavours of the supported formats. All decode strictly (unused bits must
// be zero), as the argon2 reference decoder does; every encoder that made these hashes
// writes zeros there, and strictness keeps one hash from having several spellings.
var (
	// Django pads its base64 (Python's base64.b64encode).
	paddedBase64 = base64.StdEncoding.Strict()
	// The PHC string format, passlib's scrypt and argon2-cffi omit the padding.
	rawBase64 = base64.RawStdEncoding.Strict()
)

// decodeBase64 decodes s with enc after checking that s holds only the characters of
// the standard alphabet (and "=" where enc pads): Go's decoder would otherwise skip
// line breaks inside a hash.
func decodeBase64(s string, enc *base64.Encoding) ([]byte, bool) {
	padded := enc == paddedBase64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || padded && c == '=') {
			return nil, false
		}
	}
	b, err := enc.DecodeString(s)
	return b, err == nil
}

// decodeAdaptedBase64 decodes passlib's "adapted base64" (ab64), used by its PBKDF2
// hashes: unpadded standard base64 with "." in place of "+". Like passlib, it also
// accepts "+".
func decodeAdaptedBase64(s string) ([]byte, bool) {
	return decodeBase64(strings.ReplaceAll(s, ".", "+"), rawBase64)
}
