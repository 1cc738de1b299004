package passwords

import (
	"crypto/subtle"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/scrypt"
)

// parsePHCScrypt reads scrypt in the PHC string format that passlib writes (and the
// Rust password-hash and Node @phc/scrypt libraries share):
//
//	$scrypt$ln=<log2 N>,r=<block size>,p=<parallelism>$<salt>$<hash>
//
// with salt and hash in unpadded standard base64. libsodium's "$7$" encoding is not
// accepted.
func parsePHCScrypt(s string, l Limits) (stored, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 5 {
		return stored{}, invalidHash("a PHC scrypt hash has 5 fields separated by $, this one has %d", len(parts))
	}
	fields := strings.Split(parts[2], ",")
	if len(fields) != 3 {
		return stored{}, invalidHash("scrypt parameters must be exactly ln, r and p")
	}
	var vals [3]uint64
	for i, name := range []string{"ln=", "r=", "p="} {
		digits, ok := strings.CutPrefix(fields[i], name)
		n, okn := parseDecimal(digits, 32)
		if !ok || !okn {
			return stored{}, invalidHash("scrypt parameter %s is missing, out of order or not a 32-bit number", strings.TrimSuffix(name, "="))
		}
		vals[i] = n
	}
	ln, r, p := vals[0], vals[1], vals[2]
	if ln < 1 || ln > 63 {
		return stored{}, invalidHash("scrypt ln %d is outside 1 to 63", ln)
	}
	salt, ok := decodeBase64(parts[3], rawBase64)
	if !ok {
		return stored{}, invalidHash("the scrypt salt is not valid unpadded base64")
	}
	key, ok := decodeBase64(parts[4], rawBase64)
	if !ok {
		return stored{}, invalidHash("the scrypt hash is not valid unpadded base64")
	}
	return scryptStored(1<<ln, r, p, salt, key, l)
}

// parseDjangoScrypt reads Django's ScryptPasswordHasher (Django 4.0 and later):
//
//	scrypt$<N>$<salt>$<r>$<p>$<hash>
//
// N itself, not its logarithm; the salt is text used as its UTF-8 bytes; the hash is
// padded standard base64 of a 64-byte key.
func parseDjangoScrypt(s string, l Limits) (stored, error) {
	parts := strings.Split(s, "$")
	if len(parts) != 6 {
		return stored{}, invalidHash("a Django scrypt hash has 6 fields separated by $, this one has %d", len(parts))
	}
	n, okn := parseDecimal(parts[1], 64)
	r, okr := parseDecimal(parts[3], 32)
	p, okp := parseDecimal(parts[4], 32)
	if !okn || !okr || !okp {
		return stored{}, invalidHash("the Django scrypt parameters N, r and p are not all numbers")
	}
	salt := parts[2]
	if !utf8.ValidString(salt) {
		return stored{}, invalidHash("the Django scrypt salt is not UTF-8 text")
	}
	key, ok := decodeBase64(parts[5], paddedBase64)
	if !ok {
		return stored{}, invalidHash("the Django scrypt hash is not valid padded base64")
	}
	if len(key) != 64 {
		return stored{}, invalidHash("a Django scrypt hash has 64 bytes, this one has %d", len(key))
	}
	return scryptStored(n, r, p, []byte(salt), key, l)
}

// scryptStored checks scrypt's parameters — its own rules, then Limits — and verifies
// against key.
func scryptStored(n, r, p uint64, salt, key []byte, l Limits) (stored, error) {
	switch {
	case n < 2 || n&(n-1) != 0:
		return stored{}, invalidHash("scrypt N must be a power of 2 above 1")
	case r < 1 || p < 1:
		return stored{}, invalidHash("scrypt r and p must be at least 1")
	case r*p >= 1<<30: // r and p are below 2^32, so this cannot overflow
		return stored{}, invalidHash("scrypt r × p must be below 2^30")
	}
	// 128·N·r bytes of memory and N·r·p block mixes. Overflowing 64 bits is beyond
	// any limit.
	hi, nr := bits.Mul64(n, r)
	memHi, memory := bits.Mul64(nr, 128)
	workHi, work := bits.Mul64(nr, p)
	switch {
	case hi != 0 || memHi != 0 || memory > l.ScryptMaxMemory:
		return stored{}, limitError(fmt.Sprintf("scrypt memory 128·N·r (N=%d, r=%d) is above the limit of %d bytes", n, r, l.ScryptMaxMemory))
	case workHi != 0 || work > l.ScryptMaxWork:
		return stored{}, limitError(fmt.Sprintf("scrypt work N·r·p (N=%d, r=%d, p=%d) is above the limit of %d", n, r, p, l.ScryptMaxWork))
	}
	if problem := l.saltProblem(uint64(len(salt))); problem != "" {
		return stored{}, limitError(problem)
	}
	if problem := l.keyProblem(uint64(len(key))); problem != "" {
		return stored{}, limitError(problem)
	}
	return stored{
		memory: int64(min(memory, math.MaxInt64)),
		matches: func(password string) bool {
			got, err := scrypt.Key([]byte(password), salt, int(n), int(r), int(p), len(key))
			return err == nil && subtle.ConstantTimeCompare(got, key) == 1
		},
	}, nil
}
