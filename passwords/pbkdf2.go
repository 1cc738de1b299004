package passwords

import (
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"hash"
	"strings"
	"unicode/utf8"
)

// pbkdf2Digest is one PBKDF2 pseudo-random function. Both Django and passlib derive
// exactly one digest-sized block, so the key length is fixed by the digest and the
// work is the iteration count alone.
type pbkdf2Digest struct {
	name string
	new  func() hash.Hash
	size int
}

var (
	pbkdf2SHA1   = pbkdf2Digest{"SHA-1", sha1.New, sha1.Size}
	pbkdf2SHA256 = pbkdf2Digest{"SHA-256", sha256.New, sha256.Size}
	pbkdf2SHA512 = pbkdf2Digest{"SHA-512", sha512.New, sha512.Size}
)

// parseDjangoPBKDF2 reads Django's PBKDF2PasswordHasher and PBKDF2SHA1PasswordHasher:
//
//	pbkdf2_sha256$<iterations>$<salt>$<hash>
//	pbkdf2_sha1$<iterations>$<salt>$<hash>
//
// The salt is text used as its UTF-8 bytes (Django generates 12 to 22 letters and
// digits); the hash is padded standard base64 of one digest-sized block.
func parseDjangoPBKDF2(s string, l Limits) (stored, error) {
	parts := strings.Split(s, "$")
	var d pbkdf2Digest
	switch parts[0] {
	case "pbkdf2_sha256":
		d = pbkdf2SHA256
	case "pbkdf2_sha1":
		d = pbkdf2SHA1
	default:
		return stored{}, invalidHash("the hash format is not recognised")
	}
	if len(parts) != 4 {
		return stored{}, invalidHash("a Django PBKDF2 hash has 4 fields separated by $, this one has %d", len(parts))
	}
	salt := parts[2]
	if !utf8.ValidString(salt) {
		return stored{}, invalidHash("the Django PBKDF2 salt is not UTF-8 text")
	}
	key, ok := decodeBase64(parts[3], paddedBase64)
	if !ok {
		return stored{}, invalidHash("the Django PBKDF2 hash is not valid padded base64")
	}
	return pbkdf2Stored(d, parts[1], []byte(salt), key, l)
}

// parsePasslibPBKDF2 reads passlib's pbkdf2_sha1, pbkdf2_sha256 and pbkdf2_sha512:
//
//	$pbkdf2$<rounds>$<salt>$<hash>           (HMAC-SHA1)
//	$pbkdf2-sha256$<rounds>$<salt>$<hash>
//	$pbkdf2-sha512$<rounds>$<salt>$<hash>
//
// with salt and hash in passlib's adapted base64 (unpadded, "." for "+").
func parsePasslibPBKDF2(s string, l Limits) (stored, error) {
	parts := strings.Split(s, "$")
	var d pbkdf2Digest
	switch parts[1] {
	case "pbkdf2":
		d = pbkdf2SHA1
	case "pbkdf2-sha256":
		d = pbkdf2SHA256
	case "pbkdf2-sha512":
		d = pbkdf2SHA512
	default:
		return stored{}, invalidHash("the hash format is not recognised")
	}
	if len(parts) != 5 {
		return stored{}, invalidHash("a passlib PBKDF2 hash has 5 fields separated by $, this one has %d", len(parts))
	}
	salt, ok := decodeAdaptedBase64(parts[3])
	if !ok {
		return stored{}, invalidHash("the passlib PBKDF2 salt is not valid adapted base64")
	}
	key, ok := decodeAdaptedBase64(parts[4])
	if !ok {
		return stored{}, invalidHash("the passlib PBKDF2 hash is not valid adapted base64")
	}
	return pbkdf2Stored(d, parts[2], salt, key, l)
}

// pbkdf2Stored checks the parts common to both PBKDF2 layouts and verifies against key.
func pbkdf2Stored(d pbkdf2Digest, iterations string, salt, key []byte, l Limits) (stored, error) {
	iter, ok := parseDecimal(iterations, 32)
	if !ok || iter < 1 {
		return stored{}, invalidHash("the PBKDF2 iteration count is not a number from 1 to 4294967295")
	}
	if iter > uint64(l.PBKDF2MaxIterations) {
		return stored{}, limitError(fmt.Sprintf("PBKDF2 iterations %d are above the limit of %d", iter, l.PBKDF2MaxIterations))
	}
	if len(key) != d.size {
		return stored{}, invalidHash("a PBKDF2-%s hash has %d bytes, this one has %d", d.name, d.size, len(key))
	}
	if problem := l.saltProblem(uint64(len(salt))); problem != "" {
		return stored{}, limitError(problem)
	}
	if problem := l.keyProblem(uint64(len(key))); problem != "" {
		return stored{}, limitError(problem)
	}
	return stored{
		memory: smallWeight,
		matches: func(password string) bool {
			got, err := pbkdf2.Key(d.new, password, salt, int(iter), d.size)
			return err == nil && subtle.ConstantTimeCompare(got, key) == 1
		},
	}, nil
}
