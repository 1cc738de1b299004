package passwords

import (
	"context"
	"crypto/rand"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// Config configures a Hasher.
type Config struct {
	// Params are the argon2id parameters new hashes get; the zero value means
	// DefaultParams.
	Params Params
	// MemoryBudget is how many bytes of hashing memory may be in flight at once;
	// derivations beyond it wait. Zero means DefaultMemoryBudget (about 76 MiB).
	MemoryBudget int64
	// Limits bound the hashes Verify accepts; a zero field takes its default.
	Limits Limits
}

// Hasher hashes and verifies passwords under a memory budget. It is safe for
// concurrent use; one per process is the intent, since the budget is per Hasher.
type Hasher struct {
	params Params
	limits Limits
	budget *budget
	// dummy is an argon2id hash with the current parameters and a random key that no
	// password derives: what VerifyDummy and failed parses spend their work on.
	dummy stored
}

// Result is the outcome of a verification.
type Result struct {
	// OK is true when the password matches.
	OK bool
	// NeedsRehash is true when the password matched a hash that is not argon2id with
	// the current parameters, or matched only in its raw, unnormalised form. The
	// caller should then store Hash(password) in place of the old hash.
	NeedsRehash bool
}

// Stats describe a Hasher's work so far and now, for metrics and tests.
type Stats struct {
	// Derivations counts the key derivations run since New.
	Derivations uint64
	// InFlight is how many derivations are running now.
	InFlight int
	// Waiting is how many derivations are waiting for room in the memory budget.
	Waiting int
}

// New returns a Hasher for cfg. It fails when the parameters are unfit to hash with
// (see Params.Validate) or beyond the configured Limits — its own hashes must verify —
// or when the budget or limits are nonsensical.
func New(cfg Config) (*Hasher, error) {
	limits := cfg.Limits.withDefaults()
	if err := limits.check(); err != nil {
		return nil, err
	}
	params := cfg.Params
	if params == (Params{}) {
		params = DefaultParams()
	}
	if err := params.check(limits); err != nil {
		return nil, err
	}
	size := cfg.MemoryBudget
	if size == 0 {
		size = DefaultMemoryBudget
	}
	if size < 0 {
		return nil, fmt.Errorf("passwords: memory budget %d bytes is negative", size)
	}
	return &Hasher{
		params: params,
		limits: limits,
		budget: newBudget(size),
		dummy:  argon2Stored(true, params, randomBytes(params.SaltLen), randomBytes(params.KeyLen)),
	}, nil
}

func randomBytes(n uint32) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails; it crashes the program instead
	return b
}

// Params returns the argon2id parameters new hashes get.
func (h *Hasher) Params() Params {
	return h.params
}

// Concurrency is how many hashes with the current params may run at once under the
// memory budget (at least 1).
func (h *Hasher) Concurrency() int {
	return h.budget.slots(h.params.memoryBytes())
}

// Hash normalises password (see Normalize) and hashes it with argon2id and a fresh
// random salt, returning a PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64, as the reference implementation
// writes them. It waits for room in the memory budget, and fails only if ctx ends
// first.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	p := h.params
	salt := randomBytes(p.SaltLen)
	var key []byte
	err := h.budget.run(ctx, p.memoryBytes(), func() {
		key = argon2.IDKey([]byte(Normalize(password)), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	})
	if err != nil {
		return "", fmt.Errorf("passwords: hash: %w", err)
	}
	return encodeArgon2id(p, salt, key), nil
}

// Verify checks password against encoded, in any supported format. A wrong password is
// Result{OK: false} and a nil error; an error means the hash could not be checked: it
// wraps ErrInvalidHash or ErrLimitExceeded, or ctx's error if ctx ended while waiting
// for the memory budget.
//
// The normalised password is tried first; if it fails and differs from the raw input,
// the raw input is tried too, because other systems hashed raw bytes. Even a hash that
// cannot be parsed costs the work of a real verification, so that broken rows do not
// answer faster than wrong passwords.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (Result, error) {
	s, err := parse(encoded, h.limits)
	if err != nil {
		_, _, _ = h.verify(ctx, h.dummy, password)
		return Result{}, err
	}
	ok, raw, err := h.verify(ctx, s, password)
	if err != nil {
		return Result{}, fmt.Errorf("passwords: verify: %w", err)
	}
	if !ok {
		return Result{}, nil
	}
	return Result{OK: true, NeedsRehash: raw || !h.current(s)}, nil
}

// VerifyDummy spends the same work Verify would spend for this password against a hash
// with the current params, and never matches. Callers use it when the user is unknown,
// so that an unknown user costs the same as a wrong password (no user enumeration).
// It returns nil once the work is done, or ctx's error if ctx ended while waiting for
// the memory budget.
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	if _, _, err := h.verify(ctx, h.dummy, password); err != nil {
		return fmt.Errorf("passwords: verify: %w", err)
	}
	return nil
}

// verify tries the normalised password against s, then the raw one when it differs.
// raw reports that only the raw form matched.
func (h *Hasher) verify(ctx context.Context, s stored, password string) (ok, raw bool, err error) {
	normalized := Normalize(password)
	ok, err = h.derive(ctx, s, normalized)
	if err != nil || ok || normalized == password {
		return ok, false, err
	}
	ok, err = h.derive(ctx, s, password)
	return ok, ok, err
}

func (h *Hasher) derive(ctx context.Context, s stored, password string) (bool, error) {
	var ok bool
	err := h.budget.run(ctx, s.memory, func() { ok = s.matches(password) })
	return ok, err
}

// current reports whether s is argon2id in this package's encoding with exactly the
// current parameters, salt and key lengths included.
func (h *Hasher) current(s stored) bool {
	return s.phc != nil && *s.phc == h.params
}

// NeedsRehash reports whether encoded is not argon2id with exactly the current params
// (or is malformed, or beyond Limits). It derives nothing.
func (h *Hasher) NeedsRehash(encoded string) bool {
	s, err := parse(encoded, h.limits)
	return err != nil || !h.current(s)
}

// Validate checks, cheaply and without key derivation, that encoded is a supported
// format with parameters within Limits: the check for importing users. Its error says
// what is wrong in words ("bcrypt cost 31 is above the limit of 13") and wraps
// ErrInvalidHash or ErrLimitExceeded; it never quotes the hash.
func (h *Hasher) Validate(encoded string) error {
	_, err := parse(encoded, h.limits)
	return err
}

// Stats returns the Hasher's counters.
func (h *Hasher) Stats() Stats {
	return Stats{
		Derivations: h.budget.derivations.Load(),
		InFlight:    int(h.budget.inFlight.Load()),
		Waiting:     int(h.budget.waiting.Load()),
	}
}
