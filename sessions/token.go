package sessions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// tokenBytes is a token's entropy: 256 bits, so that it cannot be guessed and a fast
// hash is a safe way to store it.
const tokenBytes = 32

// tokenEncoding is strict, so that each token has one spelling: a token with other
// trailing bits is refused, not taken for its twin.
var tokenEncoding = base64.RawURLEncoding.Strict()

// tokenLen is the length of every token: 43 characters.
var tokenLen = tokenEncoding.EncodedLen(tokenBytes)

// mintToken returns a fresh token and the hash the database holds instead of it.
func mintToken() (string, []byte) {
	raw := make([]byte, tokenBytes)
	_, _ = rand.Read(raw) // crypto/rand never fails short; it crashes the program instead
	tok := tokenEncoding.EncodeToString(raw)
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

// wellFormed reports whether tok could be a token mintToken made: anything else is
// refused before it costs a hash or a database round trip.
func wellFormed(tok string) bool {
	if len(tok) != tokenLen {
		return false
	}
	var raw [tokenBytes]byte
	n, err := tokenEncoding.Decode(raw[:], []byte(tok))
	return err == nil && n == tokenBytes
}

// tokenHash returns the hash the database holds of tok, or false when tok is not well
// formed.
func tokenHash(tok string) ([]byte, bool) {
	if !wellFormed(tok) {
		return nil, false
	}
	h := sha256.Sum256([]byte(tok))
	return h[:], true
}
