package passwords

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/bcrypt"
)

// bcryptInput is how a format turns the password into bcrypt's key.
type bcryptInput int

const (
	// bcryptPlain uses the password's bytes. bcrypt reads at most 72 of them, and
	// the systems that made these hashes (OpenBSD, crypt_blowfish, PHP, pyca/bcrypt
	// before 5.0, Django's BCryptPasswordHasher) silently ignored the rest; x/crypto
	// refuses longer passwords instead, so they are cut to 72 bytes first, even in the
	// middle of a character, exactly as those systems did.
	bcryptPlain bcryptInput = iota
	// bcryptSHA256Hex is Django's BCryptSHA256PasswordHasher: bcrypt over the 64
	// lowercase hex digits of SHA-256 of the password's UTF-8 bytes, which lifts the
	// 72-byte limit. Django has stored it this way since the hasher appeared in 1.6.
	bcryptSHA256Hex
)

// bcryptMaxKey is how many key bytes bcrypt reads.
const bcryptMaxKey = 72

// bcryptLen is the length of a modular-crypt bcrypt hash: "$2b$", two cost digits,
// "$", then 22 characters of salt and 31 of hash in bcrypt's base64.
const bcryptLen = 60

// parseBcrypt reads "$2a$", "$2b$" or "$2y$" hashes, which differ only in bugs of
// implementations long fixed: all three are computed the same way today. "$2x$" (made
// by crypt_blowfish's sign-extension bug on non-ASCII passwords) cannot be reproduced
// and is refused, as is the pre-1999 "$2$". The same bug made the "$2a$" hashes of
// crypt_blowfish before 1.1 (2011) for passwords with non-ASCII bytes; those verify
// as wrong passwords, and their users need a reset.
func parseBcrypt(s string, l Limits, in bcryptInput) (stored, error) {
	if len(s) >= 4 && s[:4] == "$2x$" {
		return stored{}, invalidHash("bcrypt $2x$ hashes (from crypt_blowfish's 8-bit bug) are not supported")
	}
	if len(s) >= 3 && s[:3] == "$2$" {
		return stored{}, invalidHash("the original bcrypt $2$ variant is not supported")
	}
	if len(s) != bcryptLen {
		return stored{}, invalidHash("a bcrypt hash has %d characters, this one has %d", bcryptLen, len(s))
	}
	if s[0] != '$' || s[1] != '2' || (s[2] != 'a' && s[2] != 'b' && s[2] != 'y') || s[3] != '$' || s[6] != '$' {
		return stored{}, invalidHash("the bcrypt prefix is not $2a$, $2b$ or $2y$ followed by a two-digit cost")
	}
	// bcrypt always writes the cost as two digits, "04" to "31".
	if !isDigit(s[4]) || !isDigit(s[5]) {
		return stored{}, invalidHash("the bcrypt cost is not a number")
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < bcrypt.MinCost {
		return stored{}, invalidHash("bcrypt cost %d is below bcrypt's minimum of %d", cost, bcrypt.MinCost)
	}
	if cost > l.BcryptMaxCost {
		return stored{}, limitError(fmt.Sprintf("bcrypt cost %d is above the limit of %d", cost, l.BcryptMaxCost))
	}
	for i := 7; i < len(s); i++ {
		if !isBcryptBase64(s[i]) {
			return stored{}, invalidHash("the bcrypt salt and hash are not in bcrypt's base64 alphabet")
		}
	}
	hash := []byte(s)
	return stored{
		memory: smallWeight,
		matches: func(password string) bool {
			return bcrypt.CompareHashAndPassword(hash, bcryptKey(password, in)) == nil
		},
	}, nil
}

func bcryptKey(password string, in bcryptInput) []byte {
	if in == bcryptSHA256Hex {
		sum := sha256.Sum256([]byte(password))
		return []byte(hex.EncodeToString(sum[:]))
	}
	key := []byte(password)
	return key[:min(len(key), bcryptMaxKey)]
}

// isBcryptBase64 reports whether c is in bcrypt's base64 alphabet, "./A-Za-z0-9".
func isBcryptBase64(c byte) bool {
	return c == '.' || c == '/' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}

func isDigit(c byte) bool {
	return c >= '0' && c <= '9'
}
