// Package keyring encrypts secrets at rest — TOTP seeds, private signing keys, webhook
// secrets — with AES-256-GCM under operator-configured keys, and tags every ciphertext
// with the id of the key that sealed it so keys can rotate without downtime.
//
// Operators configure one or more 32-byte keys. The first is current: it seals
// everything new. All of them open: data sealed under an older key stays readable until
// the rewrap job has re-sealed it under the current one.
//
// # Rotating a key without downtime
//
//  1. Generate a new key (GenerateKey, EncodeKey) and add it second in the list, after
//     the current key, on every replica. Every replica can now open data sealed under
//     it while still sealing under the old key.
//  2. Once every replica has it, move the new key first. Replicas seal under the new key
//     from now on. Step 1 is what makes this safe during a rolling restart: a replica
//     still running the previous configuration already knows the new key, so it can read
//     what the updated replicas write.
//  3. Let the rewrap job run: it re-seals every stored secret for which NeedsRewrap
//     reports true.
//  4. When it finds nothing left, remove the old key from the configuration. Keep a copy
//     of it for as long as you keep backups taken before the rewrap finished: restoring
//     one needs it.
//
// Skipping step 1 (putting a new key first straight away) breaks the replicas not yet
// restarted: they meet ciphertexts under a key they do not have and fail with
// ErrUnknownKey.
//
// # Format
//
// A ciphertext is
//
//	byte 0       version, 0x01
//	bytes 1–8    key id: the first 8 bytes of SHA-256("identityd keyring key id\x00" || key)
//	bytes 9–20   random 96-bit nonce
//	bytes 21–    AES-256-GCM ciphertext and 16-byte tag
//
// The AES key is derived from the configured key with HKDF-SHA256 (info "identityd
// keyring data encryption v1"), so the configured key can later seed other purposes
// without using the same key twice. The GCM additional data is bytes 0–8 followed by
// the caller's additional data: the version and key id are authenticated with the
// ciphertext, and a caller that names the record a secret belongs to (for example
// "mfa_totp:<user id>") gets a ciphertext that cannot be copied to another row.
//
// Nonces are random, so one key must not seal more than 2^32 messages; secrets at rest
// are written rarely (on enrolment, on rotation), far below that.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// KeySize is the length in bytes of a configured encryption key.
const KeySize = 32

const (
	// version is byte 0 of every ciphertext; a new format gets a new number so old
	// ciphertexts stay readable next to new ones.
	version byte = 0x01

	keyIDSize  = 8
	headerSize = 1 + keyIDSize // version and key id: authenticated, not encrypted
	nonceSize  = 12
	tagSize    = 16
	// minSize is the length of a ciphertext of an empty plaintext.
	minSize = headerSize + nonceSize + tagSize

	// maxPlaintext is the most GCM can seal under one nonce; crypto/cipher panics
	// beyond it, so Encrypt refuses first.
	maxPlaintext = (1<<32 - 2) * 16

	keyIDPrefix       = "identityd keyring key id\x00"
	dataEncryptionKDF = "identityd keyring data encryption v1"
)

// Errors returned by Decrypt. Compare with errors.Is; the returned errors add the key id
// or length that explains them, never plaintext or key material.
var (
	// ErrMalformed means the input is not a keyring ciphertext at all: too short, or a
	// version this code does not know. The stored value is corrupt or was never sealed.
	ErrMalformed = errors.New("keyring: malformed ciphertext")
	// ErrUnknownKey means the ciphertext was sealed under a key that is not configured:
	// an old key was removed before the rewrap job finished, or a replica lacks a new
	// key. Restoring the key to the configuration makes the data readable again.
	ErrUnknownKey = errors.New("keyring: unknown key")
	// ErrDecrypt means authentication failed: the ciphertext was altered, or the
	// additional data differs from what it was sealed with (a ciphertext moved to
	// another record).
	ErrDecrypt = errors.New("keyring: decryption failed")
)

// keyID names a configured key inside ciphertexts without revealing anything usable
// about it.
type keyID [keyIDSize]byte

func (id keyID) String() string { return hex.EncodeToString(id[:]) }

// sealer is one configured key, ready to use.
type sealer struct {
	id   keyID
	aead cipher.AEAD
	// secret is a copy of the configured key, from which Derive makes keys for other
	// purposes; it never leaves the package.
	secret []byte
}

// Keyring seals and opens secrets under the configured keys, and derives keys for other
// purposes from them (Derive). Create one with New. It keeps its own copy of the keys and
// is safe for concurrent use.
type Keyring struct {
	current *sealer
	byID    map[keyID]*sealer
	order   []keyID // as configured, current first
}

// New builds a Keyring from the configured keys, current first. It needs at least one
// key; each must be exactly KeySize bytes and appear once. Errors name keys by their
// position in the list (1 for the first), never by their bytes, and report every
// problem at once. New copies the keys, so the caller may clear them after.
func New(keys [][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyring: no encryption keys configured; at least one 32-byte key is required")
	}
	var problems []error
	k := &Keyring{byID: make(map[keyID]*sealer, len(keys))}
	position := make(map[keyID]int, len(keys))
	for i, key := range keys {
		if len(key) != KeySize {
			problems = append(problems, fmt.Errorf("keyring: key %d of %d is %d bytes; keys must be exactly %d bytes",
				i+1, len(keys), len(key), KeySize))
			continue
		}
		s, err := newSealer(key)
		if err != nil {
			problems = append(problems, fmt.Errorf("keyring: key %d of %d: %w", i+1, len(keys), err))
			continue
		}
		if first, ok := position[s.id]; ok {
			problems = append(problems, fmt.Errorf("keyring: key %d of %d is the same as key %d; list each key once",
				i+1, len(keys), first))
			continue
		}
		position[s.id] = i + 1
		k.byID[s.id] = s
		k.order = append(k.order, s.id)
		if i == 0 {
			k.current = s
		}
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return k, nil
}

func newSealer(key []byte) (*sealer, error) {
	// Derived rather than used directly, so the configured key can seed other purposes
	// (another HKDF info) without one AES key serving two.
	aesKey, err := hkdf.Key(sha256.New, key, nil, dataEncryptionKDF, 32)
	if err != nil {
		return nil, fmt.Errorf("derive data encryption key: %w", err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, fmt.Errorf("create AES cipher: %w", err)
	}
	// The random-nonce GCM draws the nonce itself and lays it out as nonce||ciphertext,
	// exactly bytes 9 onwards of our format, so no caller of ours ever handles a nonce.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("create AES-GCM: %w", err)
	}
	return &sealer{id: deriveKeyID(key), aead: aead, secret: append([]byte(nil), key...)}, nil
}

// deriveKeyID hashes the key under its own prefix, so the id is stable across restarts
// and replicas but cannot be used to recover or test for the key's other uses.
func deriveKeyID(key []byte) keyID {
	h := sha256.New()
	h.Write([]byte(keyIDPrefix))
	h.Write(key)
	var id keyID
	copy(id[:], h.Sum(nil))
	return id
}

// Encrypt seals plaintext under the current key. aad names what the secret belongs to
// (for example "mfa_totp:<user id>"); Decrypt must be given the same aad, so a
// ciphertext copied to another record does not open. Two calls with the same input
// return different ciphertexts.
func (k *Keyring) Encrypt(plaintext, aad []byte) ([]byte, error) {
	if k.current == nil {
		return nil, errors.New("keyring: encrypt: keyring has no keys; create it with keyring.New")
	}
	if uint64(len(plaintext)) > maxPlaintext {
		return nil, fmt.Errorf("keyring: encrypt: plaintext of %d bytes exceeds the AES-GCM limit of %d bytes",
			len(plaintext), uint64(maxPlaintext))
	}
	out := make([]byte, headerSize, minSize+len(plaintext))
	out[0] = version
	copy(out[1:headerSize], k.current.id[:])
	return k.current.aead.Seal(out, nil, plaintext, additionalData(out[:headerSize], aad)), nil
}

// Decrypt opens a ciphertext made by Encrypt under any configured key, given the same
// aad. It fails with ErrMalformed, ErrUnknownKey or ErrDecrypt (wrapped with detail).
func (k *Keyring) Decrypt(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrMalformed)
	}
	if ciphertext[0] != version {
		return nil, fmt.Errorf("%w: unknown version 0x%02x", ErrMalformed, ciphertext[0])
	}
	if len(ciphertext) < minSize {
		return nil, fmt.Errorf("%w: %d bytes, shorter than the %d-byte minimum", ErrMalformed, len(ciphertext), minSize)
	}
	id := keyID(ciphertext[1:headerSize])
	s, ok := k.byID[id]
	if !ok {
		return nil, fmt.Errorf("%w: key id %s is not among the configured encryption keys", ErrUnknownKey, id)
	}
	// A non-nil result even for an empty secret, sized exactly, in one allocation.
	plaintext, err := s.aead.Open(make([]byte, 0, len(ciphertext)-minSize), nil, ciphertext[headerSize:],
		additionalData(ciphertext[:headerSize], aad))
	if err != nil {
		// The cipher's own error says nothing more than "authentication failed".
		return nil, fmt.Errorf("%w: under key id %s: the ciphertext was altered or the additional data does not match",
			ErrDecrypt, id)
	}
	return plaintext, nil
}

// additionalData binds the header to the ciphertext. The header has a fixed length, so
// header||aad cannot be confused with another split of the same bytes.
func additionalData(header, aad []byte) []byte {
	ad := make([]byte, 0, len(header)+len(aad))
	ad = append(ad, header...)
	return append(ad, aad...)
}

// CurrentKeyID returns the hex id of the key Encrypt uses, for logs and the admin view:
// it tells operators which key is current without showing the key.
func (k *Keyring) CurrentKeyID() string {
	if k.current == nil {
		return ""
	}
	return k.current.id.String()
}

// KeyIDs lists the hex ids of the configured keys in their configured order, the current
// one first: what an operator may record or compare without seeing any key.
func (k *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(k.order))
	for _, id := range k.order {
		ids = append(ids, id.String())
	}
	return ids
}

// NeedsRewrap reports whether ciphertext should be re-sealed under the current key. It
// reads only the header and authenticates nothing, so it is cheap enough to call on
// every stored secret. It is true for anything that does not name the current key in
// the current format — including malformed values and unknown keys — so the rewrap job
// tries them and Decrypt reports why they cannot be read, instead of skipping them
// silently.
func (k *Keyring) NeedsRewrap(ciphertext []byte) bool {
	if k.current == nil || len(ciphertext) < minSize || ciphertext[0] != version {
		return true
	}
	return keyID(ciphertext[1:headerSize]) != k.current.id
}
