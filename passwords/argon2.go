package passwords

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // iterations (passes over the memory)
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams returns OWASP's recommended argon2id setting (Password Storage Cheat
// Sheet): 19 MiB, 2 passes, 1 lane, with a 16-byte salt and a 32-byte key. One lane
// because a sign-in server runs many hashes at once, so parallelism inside one hash
// buys no throughput. About 40 ms on a 2020s server core.
func DefaultParams() Params {
	return Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// minMemory is the least memory, in KiB, this package hashes new passwords with:
// 7 MiB, the smallest setting in OWASP's table of equivalent argon2id choices. Lower
// values are almost always a setting meant in MiB and written in KiB. It also keeps
// argon2's own minimum of 8 KiB per lane for any number of lanes.
const minMemory = 7168

// Validate reports whether p is fit for hashing new passwords: at least 7 MiB of
// memory, one pass and one lane, salts and keys of at least 16 bytes (128 bits, as
// RFC 9106 recommends for the salt), and within DefaultLimits, so that the hashes it
// makes can always be verified. New checks the same against the configured Limits.
func (p Params) Validate() error {
	return p.check(DefaultLimits())
}

func (p Params) check(l Limits) error {
	var errs []error
	if p.Memory < minMemory {
		errs = append(errs, fmt.Errorf("memory %d KiB is below the minimum of %d KiB (7 MiB); is it a value in MiB written as KiB?", p.Memory, minMemory))
	}
	if p.Time < 1 {
		errs = append(errs, errors.New("time must be at least 1 pass"))
	}
	if p.Threads < 1 {
		errs = append(errs, errors.New("threads must be at least 1"))
	}
	if p.SaltLen < 16 {
		errs = append(errs, fmt.Errorf("salt length %d is below 16 bytes", p.SaltLen))
	}
	if p.KeyLen < 16 {
		errs = append(errs, fmt.Errorf("key length %d is below 16 bytes", p.KeyLen))
	}
	for _, problem := range []string{
		l.argon2Problem(p.Memory, p.Time, uint32(p.Threads)),
		l.saltProblem(uint64(p.SaltLen)),
		l.keyProblem(uint64(p.KeyLen)),
	} {
		if problem != "" {
			errs = append(errs, errors.New(problem))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("passwords: argon2id parameters: %w", err)
	}
	return nil
}

// memoryBytes is what one derivation with p holds.
func (p Params) memoryBytes() int64 {
	return int64(p.Memory) * 1024
}

// encodeArgon2id writes a hash in the PHC string format of the argon2 reference
// implementation: unpadded standard base64, parameters in the order m, t, p.
func encodeArgon2id(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		rawBase64.EncodeToString(salt), rawBase64.EncodeToString(key))
}

// argon2Stored verifies against key, derived from salt with params p by argon2i or
// argon2id.
func argon2Stored(id bool, p Params, salt, key []byte) stored {
	derive := argon2.Key
	if id {
		derive = argon2.IDKey
	}
	return stored{
		memory: p.memoryBytes(),
		matches: func(password string) bool {
			got := derive([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
			return subtle.ConstantTimeCompare(got, key) == 1
		},
	}
}

// parseArgon2 reads the PHC string format of the argon2 reference implementation:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>
//
// with argon2id or argon2i, salt and hash in unpadded standard base64. Django's
// Argon2PasswordHasher stores the same string after "argon2"; its caller strips that
// and passes ours=false, so that such a hash always asks for a rehash into the
// canonical form. Only version 19 (argon2 1.3) is accepted: x/crypto implements no
// other, and hashes without a version field are argon2 1.0.
func parseArgon2(s string, l Limits, ours bool) (stored, error) {
	parts := strings.Split(s, "$")
	var id bool
	switch parts[1] {
	case "argon2id":
		id = true
	case "argon2i":
	case "argon2d":
		return stored{}, invalidHash("argon2d hashes are not supported")
	default:
		return stored{}, invalidHash("the hash format is not recognised")
	}
	if len(parts) == 5 && strings.HasPrefix(parts[2], "m=") {
		return stored{}, invalidHash("argon2 hashes without a version field (argon2 1.0) are not supported")
	}
	if len(parts) != 6 {
		return stored{}, invalidHash("an argon2 hash has 6 fields separated by $, this one has %d", len(parts))
	}
	version, ok := strings.CutPrefix(parts[2], "v=")
	v, okv := parseDecimal(version, 32)
	if !ok || !okv {
		return stored{}, invalidHash("the argon2 version field is malformed")
	}
	if v != argon2.Version {
		return stored{}, invalidHash("argon2 version %d is not supported, only %d", v, argon2.Version)
	}
	m, t, threads, err := parseArgon2Params(parts[3])
	if err != nil {
		return stored{}, err
	}
	if problem := l.argon2Problem(m, t, threads); problem != "" {
		return stored{}, limitError(problem)
	}
	salt, ok := decodeBase64(parts[4], rawBase64)
	if !ok {
		return stored{}, invalidHash("the argon2 salt is not valid unpadded base64")
	}
	key, ok := decodeBase64(parts[5], rawBase64)
	if !ok {
		return stored{}, invalidHash("the argon2 hash is not valid unpadded base64")
	}
	if problem := l.saltProblem(uint64(len(salt))); problem != "" {
		return stored{}, limitError(problem)
	}
	if problem := l.keyProblem(uint64(len(key))); problem != "" {
		return stored{}, limitError(problem)
	}
	p := Params{Memory: m, Time: t, Threads: uint8(threads), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	st := argon2Stored(id, p, salt, key)
	if id && ours {
		st.phc = &p
	}
	return st, nil
}

// parseArgon2Params reads "m=<KiB>,t=<passes>,p=<lanes>", in that order and nothing
// else (the reference encoder's order; the optional keyid and data fields need a
// secret this package does not have), and checks argon2's own bounds.
func parseArgon2Params(s string) (memory, time, threads uint32, err error) {
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return 0, 0, 0, invalidHash("argon2 parameters must be exactly m, t and p")
	}
	var vals [3]uint32
	for i, name := range []string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(fields[i], name)
		n, okn := parseDecimal(digits, 32)
		if !ok || !okn {
			return 0, 0, 0, invalidHash("argon2 parameter %s is missing, out of order or not a 32-bit number", strings.TrimSuffix(name, "="))
		}
		vals[i] = uint32(n)
	}
	memory, time, threads = vals[0], vals[1], vals[2]
	switch {
	case time < 1:
		return 0, 0, 0, invalidHash("argon2 time must be at least 1")
	case threads < 1 || threads > 1<<24-1:
		return 0, 0, 0, invalidHash("argon2 parallelism %d is outside 1 to 16777215", threads)
	case uint64(memory) < 8*uint64(threads):
		return 0, 0, 0, invalidHash("argon2 memory %d KiB is below 8 KiB per lane", memory)
	}
	return memory, time, threads, nil
}
