package passwords

import (
	"errors"
	"fmt"
	"strings"
)

// Errors about stored hashes. Compare with errors.Is; the returned errors add what is
// wrong in words, and never any part of the hash or the password.
var (
	// ErrInvalidHash means the stored hash is malformed or in a format this package
	// does not verify. The row is corrupt, or came from a system whose hashes cannot
	// be imported; such users need a password reset.
	ErrInvalidHash = errors.New("passwords: invalid or unsupported password hash")
	// ErrLimitExceeded means the hash is well formed but asks for more work or memory
	// than Limits allow, so it was refused before any derivation.
	ErrLimitExceeded = errors.New("passwords: hash parameters beyond the limits")
)

// maxEncodedLen bounds a stored hash before it is parsed at all. The longest accepted
// hash (passlib PBKDF2-SHA512 with a 64-byte salt) has under 250 characters.
const maxEncodedLen = 1024

// stored is a parsed hash: everything needed to verify a password against it, with its
// parameters already checked against Limits.
type stored struct {
	// memory is what one derivation holds, in bytes: its weight in the budget.
	memory int64
	// matches derives a key from password and compares it with the stored one in
	// constant time.
	matches func(password string) bool
	// phc holds the parameters of an argon2id hash in this package's own encoding, and
	// is nil for every other format: only such a hash can be current.
	phc *Params
}

// parse recognises encoded by its prefix and hands it to the parser of its format.
// It derives nothing.
func parse(encoded string, l Limits) (stored, error) {
	if len(encoded) > maxEncodedLen {
		return stored{}, invalidHash("the hash is longer than %d bytes", maxEncodedLen)
	}
	if rest, ok := strings.CutPrefix(encoded, "argon2$"); ok {
		return parseArgon2("$"+rest, l, false)
	}
	if rest, ok := strings.CutPrefix(encoded, "bcrypt$"); ok {
		return parseBcrypt(rest, l, bcryptPlain)
	}
	if rest, ok := strings.CutPrefix(encoded, "bcrypt_sha256$"); ok {
		return parseBcrypt(rest, l, bcryptSHA256Hex)
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2"):
		return parseArgon2(encoded, l, true)
	case strings.HasPrefix(encoded, "$2"):
		return parseBcrypt(encoded, l, bcryptPlain)
	case strings.HasPrefix(encoded, "$pbkdf2"):
		return parsePasslibPBKDF2(encoded, l)
	case strings.HasPrefix(encoded, "pbkdf2_"):
		return parseDjangoPBKDF2(encoded, l)
	case strings.HasPrefix(encoded, "$scrypt$"):
		return parsePHCScrypt(encoded, l)
	case strings.HasPrefix(encoded, "scrypt$"):
		return parseDjangoScrypt(encoded, l)
	}
	return stored{}, unsupported(encoded)
}

// knownUnsupported names formats that users are likely to try to import, so that the
// error can say what the hash is without quoting it.
var knownUnsupported = []struct{ prefix, name string }{
	{"$1$", "MD5-crypt ($1$)"},
	{"$5$", "SHA-256-crypt ($5$)"},
	{"$6$", "SHA-512-crypt ($6$)"},
	{"$y$", "yescrypt ($y$)"},
	{"$7$", "scrypt in the $7$ encoding"},
	{"$bcrypt-sha256$", "passlib's bcrypt_sha256"},
	{"md5$", "Django's salted MD5"},
	{"sha1$", "Django's salted SHA-1"},
	{"crypt$", "Django's crypt"},
	{"!", "Django's unusable-password marker, which stands for no password at all,"},
}

func unsupported(encoded string) error {
	for _, k := range knownUnsupported {
		if strings.HasPrefix(encoded, k.prefix) {
			return invalidHash("%s hashes are not supported", k.name)
		}
	}
	if encoded == "" {
		return invalidHash("the hash is empty")
	}
	return invalidHash("the hash format is not recognised")
}

// invalidHash makes the error for a malformed or unsupported stored hash. Callers pass
// only words and parsed numbers, never text from the hash.
func invalidHash(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidHash, fmt.Sprintf(format, args...))
}
