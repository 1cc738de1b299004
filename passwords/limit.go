package passwords

import (
	"errors"
	"fmt"
)

// Limits bound the parameters of the hashes Verify and Validate accept. Stored hashes
// come from imports and from other systems, so they are untrusted input: without
// limits, one row with a bcrypt cost of 31 or an argon2 memory of 4 TiB would make a
// single sign-in attempt run for days or exhaust memory. Every limit is checked before
// any key derivation, and a hash beyond one fails with ErrLimitExceeded.
//
// The defaults allow what real systems produce — Django, passlib, argon2-cffi, Keycloak,
// libsodium's "moderate" preset, bcrypt up to cost 13 — and keep the worst accepted
// hash near one second of one core on a 2020s server and within 256 MiB of memory.
// A zero field takes its value from DefaultLimits.
type Limits struct {
	// Argon2MaxMemory is the most memory, in KiB, an argon2 hash may use. Default
	// 262144 (256 MiB, libsodium's moderate preset). RFC 9106's first recommendation
	// (2 GiB) is refused: ten of those at once would take a server's memory.
	Argon2MaxMemory uint32
	// Argon2MaxWork bounds memory (KiB) × passes, which an argon2 derivation's time is
	// proportional to. Default 1048576 (1 GiB × 1 pass, 256 MiB × 4, 64 MiB × 16):
	// about one second on one core.
	Argon2MaxWork uint64
	// Argon2MaxThreads bounds an argon2 hash's lanes, each of which runs as a
	// goroutine. Default 16 (Django uses 8, argon2-cffi 4).
	Argon2MaxThreads uint8
	// BcryptMaxCost is the highest bcrypt cost accepted; each step doubles the work.
	// Default 13 (about 0.5 s); the common costs are 10 to 12. bcrypt's own minimum,
	// 4, is not a limit but part of the format.
	BcryptMaxCost int
	// PBKDF2MaxIterations bounds PBKDF2 iterations. Default 2,000,000: Django's
	// default rose from 260,000 (3.2) to 1,000,000 (5.2) and 1,200,000 (6.0), and
	// OWASP asks 1,300,000 for HMAC-SHA1; 2,000,000 leaves room for the next releases
	// and costs about 0.4 s with SHA-256 and 0.9 s with SHA-512.
	PBKDF2MaxIterations uint32
	// ScryptMaxMemory bounds scrypt's working memory, 128·N·r bytes. Default 128 MiB
	// (N = 2^17, r = 8; passlib's default is 64 MiB, Django's 16 MiB).
	ScryptMaxMemory uint64
	// ScryptMaxWork bounds N·r·p, which scrypt's time is proportional to. Default
	// 2^21 (about 0.7 s): room for Django's N = 2^14, r = 8, p = 5 and for passlib's
	// N = 2^16, r = 8, p = 1 with a margin.
	ScryptMaxWork uint64
	// MinSaltLen and MaxSaltLen bound the salt in bytes. Defaults 8 (the argon2
	// reference's minimum; Django's oldest salts have 12 characters) and 64.
	MinSaltLen, MaxSaltLen int
	// MinKeyLen and MaxKeyLen bound the derived key (the stored hash proper) in bytes.
	// Defaults 16 (argon2-cffi's and passlib's default; shorter keys make a chance
	// match of a wrong password too likely) and 64 (PBKDF2-SHA512, Django's scrypt).
	MinKeyLen, MaxKeyLen int
}

// DefaultLimits returns the limits described on each field of Limits.
func DefaultLimits() Limits {
	return Limits{
		Argon2MaxMemory:     256 * 1024,
		Argon2MaxWork:       1024 * 1024,
		Argon2MaxThreads:    16,
		BcryptMaxCost:       13,
		PBKDF2MaxIterations: 2_000_000,
		ScryptMaxMemory:     128 << 20,
		ScryptMaxWork:       1 << 21,
		MinSaltLen:          8,
		MaxSaltLen:          64,
		MinKeyLen:           16,
		MaxKeyLen:           64,
	}
}

// withDefaults fills each zero field from DefaultLimits, so that no zero can ever mean
// "no limit".
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	fill(&l.Argon2MaxMemory, d.Argon2MaxMemory)
	fill(&l.Argon2MaxWork, d.Argon2MaxWork)
	fill(&l.Argon2MaxThreads, d.Argon2MaxThreads)
	fill(&l.BcryptMaxCost, d.BcryptMaxCost)
	fill(&l.PBKDF2MaxIterations, d.PBKDF2MaxIterations)
	fill(&l.ScryptMaxMemory, d.ScryptMaxMemory)
	fill(&l.ScryptMaxWork, d.ScryptMaxWork)
	fill(&l.MinSaltLen, d.MinSaltLen)
	fill(&l.MaxSaltLen, d.MaxSaltLen)
	fill(&l.MinKeyLen, d.MinKeyLen)
	fill(&l.MaxKeyLen, d.MaxKeyLen)
	return l
}

func fill[T comparable](field *T, def T) {
	var zero T
	if *field == zero {
		*field = def
	}
}

// check reports limits that cannot work, after withDefaults.
func (l Limits) check() error {
	var errs []error
	if l.BcryptMaxCost < 4 || l.BcryptMaxCost > 31 {
		errs = append(errs, fmt.Errorf("BcryptMaxCost %d is outside bcrypt's range of 4 to 31", l.BcryptMaxCost))
	}
	if l.MinSaltLen < 0 || l.MinSaltLen > l.MaxSaltLen {
		errs = append(errs, fmt.Errorf("MinSaltLen %d and MaxSaltLen %d do not form a range", l.MinSaltLen, l.MaxSaltLen))
	}
	if l.MinKeyLen < 0 || l.MinKeyLen > l.MaxKeyLen {
		errs = append(errs, fmt.Errorf("MinKeyLen %d and MaxKeyLen %d do not form a range", l.MinKeyLen, l.MaxKeyLen))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("passwords: limits: %w", err)
	}
	return nil
}

// The problem methods describe in words how a parameter breaks the limits, or return
// "" when it does not. Callers turn the words into an error of their own kind.

func (l Limits) argon2Problem(memory, time, threads uint32) string {
	switch {
	case memory > l.Argon2MaxMemory:
		return fmt.Sprintf("argon2 memory %d KiB is above the limit of %d KiB", memory, l.Argon2MaxMemory)
	case uint64(memory)*uint64(time) > l.Argon2MaxWork:
		return fmt.Sprintf("argon2 memory × passes (%d KiB × %d) is above the limit of %d", memory, time, l.Argon2MaxWork)
	case threads > uint32(l.Argon2MaxThreads):
		return fmt.Sprintf("argon2 parallelism %d is above the limit of %d", threads, l.Argon2MaxThreads)
	}
	return ""
}

func (l Limits) saltProblem(n uint64) string {
	switch {
	case n < uint64(l.MinSaltLen):
		return fmt.Sprintf("the salt of %d bytes is shorter than the minimum of %d", n, l.MinSaltLen)
	case n > uint64(l.MaxSaltLen):
		return fmt.Sprintf("the salt of %d bytes is longer than the maximum of %d", n, l.MaxSaltLen)
	}
	return ""
}

func (l Limits) keyProblem(n uint64) string {
	switch {
	case n < uint64(l.MinKeyLen):
		return fmt.Sprintf("the hash of %d bytes is shorter than the minimum of %d", n, l.MinKeyLen)
	case n > uint64(l.MaxKeyLen):
		return fmt.Sprintf("the hash of %d bytes is longer than the maximum of %d", n, l.MaxKeyLen)
	}
	return ""
}

// limitError makes the error for a stored hash whose parameters break the limits.
func limitError(problem string) error {
	return fmt.Errorf("%w: %s", ErrLimitExceeded, problem)
}
