// Package passwords hashes and verifies passwords and decides which passwords are
// acceptable. It is pure: it stores nothing, and callers keep the encoded hashes.
//
// # Hashing
//
// New passwords are hashed with argon2id, the variant RFC 9106 and OWASP's Password
// Storage Cheat Sheet recommend: it resists both GPU cracking (memory-hard) and
// side-channel attacks on the first pass. The default parameters are OWASP's
// (19 MiB, 2 passes, 1 lane); Calibrate finds stronger ones that fit a time budget on
// the machine at hand. Hashes are encoded in the PHC string format of the argon2
// reference implementation, so other tools can read them.
//
// Verify also accepts the hashes that identityd imports from other systems — bcrypt,
// Django's hashers, passlib's PBKDF2 and scrypt, and argon2 with other parameters —
// and reports NeedsRehash so the caller can upgrade each one to the current argon2id
// parameters at the next successful sign-in, the only moment the password is known.
// Imported hashes are untrusted input: their parameters are checked against Limits
// before any work is done, so a hostile hash cannot make one verification cost seconds
// of CPU or gigabytes of memory.
//
// Hashing is deliberately expensive, so a burst of sign-ins could exhaust memory. Every
// derivation therefore runs under a memory budget (Config.MemoryBudget): each one
// reserves the memory it needs, and the rest wait their turn or give up when their
// context ends.
//
// Verification takes the same time whether or not the user exists: a caller that finds
// no user calls VerifyDummy, which spends the same work Verify would have spent, so
// response times do not reveal which accounts exist.
//
// # Unicode
//
// NIST SP 800-63B asks verifiers to normalise passwords (NFKC or NFKD) before hashing,
// so that the same password typed on two keyboards — a precomposed "é" on one, "e"
// with a combining accent on another — is the same password. Hash hashes the NFKC
// form. Foreign systems mostly hashed the raw bytes, so Verify falls back to the raw
// input when the normalised form fails, and asks for a rehash when only the raw form
// matched.
//
// # Policy
//
// Policy follows NIST SP 800-63B rather than composition rules: a minimum length, a
// generous maximum, and refusal of passwords that are known to be common, that contain
// the user's own name or address, or that zxcvbn judges easy to guess. Requiring digits
// or symbols makes passwords harder to remember without making them harder to guess,
// so Policy does not.
package passwords
