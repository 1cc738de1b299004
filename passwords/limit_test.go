package passwords_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/passwords"
)

// b64 is base64 text of the right shape for salts and hashes in the hostile hashes
// below: their content does not matter, since none may ever be derived.
const (
	salt16   = "AAAAAAAAAAAAAAAAAAAAAA"                      // 16 bytes
	key32    = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // 32 bytes
	bcrypt53 = "rRPC7bKA8.l7lapdBimew.YFnR3v/QpoE2gkwzNEg48zZBz9hp.jm"
)

// hostile hashes are well formed but ask for more than DefaultLimits allow. Each
// would cost seconds to days, or gigabytes, if derived.
var hostile = []struct {
	name, encoded, want string
}{
	{"bcrypt cost 31", "$2b$31$" + bcrypt53, "bcrypt cost 31 is above the limit of 13"},
	{"bcrypt cost 14", "$2y$14$" + bcrypt53, "bcrypt cost 14 is above the limit of 13"},
	{"Django bcrypt_sha256 cost 20", "bcrypt_sha256$$2b$20$" + bcrypt53, "bcrypt cost 20 is above the limit of 13"},
	{"argon2 4 GiB", "$argon2id$v=19$m=4194304,t=1,p=1$" + salt16 + "$" + key32, "argon2 memory 4194304 KiB is above the limit of 262144 KiB"},
	{"argon2 largest memory", "$argon2i$v=19$m=4294967295,t=1,p=1$" + salt16 + "$" + key32, "argon2 memory 4294967295 KiB is above the limit"},
	{"argon2 256 MiB × 10 passes", "$argon2id$v=19$m=262144,t=10,p=1$" + salt16 + "$" + key32, "argon2 memory × passes (262144 KiB × 10) is above the limit of 1048576"},
	{"argon2 a billion passes", "argon2$argon2id$v=19$m=64,t=1000000000,p=1$" + salt16 + "$" + key32, "argon2 memory × passes (64 KiB × 1000000000)"},
	{"argon2 64 lanes", "$argon2id$v=19$m=65536,t=1,p=64$" + salt16 + "$" + key32, "argon2 parallelism 64 is above the limit of 16"},
	{"argon2 4-byte salt", "$argon2id$v=19$m=64,t=1,p=1$AAAAAA$" + key32, "the salt of 4 bytes is shorter than the minimum of 8"},
	{"argon2 8-byte key", "$argon2id$v=19$m=64,t=1,p=1$" + salt16 + "$AAAAAAAAAAA", "the hash of 8 bytes is shorter than the minimum of 16"},
	{"Django PBKDF2 4 billion iterations", "pbkdf2_sha256$4294967295$seasalt0123456789ABCD$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ=", "PBKDF2 iterations 4294967295 are above the limit of 2000000"},
	{"passlib PBKDF2 3 million iterations", "$pbkdf2-sha512$3000000$AQIDBPv//v0QIDBA8ODQwA$8P./knT5JDeDhN3KT1SujtCZ/M6LNnRjYsOanZ80UU5GMtsxbH5L9e6GDFVVlMBWv6NxjSVVef0rVGqTSb3H1A", "PBKDF2 iterations 3000000 are above the limit of 2000000"},
	{"scrypt 1 GiB", "$scrypt$ln=20,r=8,p=1$" + salt16 + "$" + key32, "scrypt memory 128·N·r (N=1048576, r=8) is above the limit of 134217728 bytes"},
	{"scrypt p=16", "$scrypt$ln=16,r=8,p=16$" + salt16 + "$" + key32, "scrypt work N·r·p (N=65536, r=8, p=16) is above the limit of 2097152"},
	{"scrypt overflowing 64 bits", "$scrypt$ln=63,r=1073741823,p=1$" + salt16 + "$" + key32, "scrypt memory 128·N·r"},
	{"Django scrypt N=2^20", "scrypt$1048576$seasalt0123456789ABCD$8$1$nt7znwQ3Fc2o3gVXKL3UNE58WzRad0NRtDlSepv9eX19FSPLV7P/VHMUHMxVRqILBjBVr+2kmX3/wgfdcgxA2Q==", "scrypt memory 128·N·r (N=1048576, r=8)"},
}

func TestLimitsRefuseHostileHashesWithoutDeriving(t *testing.T) {
	h := newHasher(t, passwords.Config{})
	for _, tc := range hostile {
		t.Run(tc.name, func(t *testing.T) {
			before := h.Stats().Derivations
			err := h.Validate(tc.encoded)
			if !errors.Is(err, passwords.ErrLimitExceeded) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v; want ErrLimitExceeded saying %q", err, tc.want)
			}
			if n := h.Stats().Derivations - before; n != 0 {
				t.Fatalf("Validate ran %d derivations", n)
			}
			if !h.NeedsRehash(tc.encoded) || h.Stats().Derivations != before {
				t.Fatal("NeedsRehash derived, or did not ask for a rehash")
			}

			// Verify refuses too, after exactly the dummy work of a normal
			// verification: one derivation with the cheap current parameters.
			start := time.Now()
			res, err := h.Verify(context.Background(), staple, tc.encoded)
			elapsed := time.Since(start)
			if !errors.Is(err, passwords.ErrLimitExceeded) || res.OK {
				t.Fatalf("Verify = %+v, %v; want ErrLimitExceeded", res, err)
			}
			if n := h.Stats().Derivations - before; n != 1 {
				t.Fatalf("Verify ran %d derivations, want the 1 dummy", n)
			}
			if elapsed > time.Second {
				t.Fatalf("Verify took %v: it derived with the hostile parameters", elapsed)
			}
		})
	}
}

func TestLimitsAreConfigurable(t *testing.T) {
	cost14 := "$2y$14$" + bcrypt53
	strict := newHasher(t, passwords.Config{})
	if err := strict.Validate(cost14); !errors.Is(err, passwords.ErrLimitExceeded) {
		t.Fatalf("default limits: Validate(cost 14) = %v", err)
	}
	lenient := newHasher(t, passwords.Config{Limits: passwords.Limits{BcryptMaxCost: 14}})
	if err := lenient.Validate(cost14); err != nil {
		t.Fatalf("BcryptMaxCost 14: Validate(cost 14) = %v", err)
	}
	// Fields left zero keep their defaults: the other limits still hold.
	if err := lenient.Validate(hostile[3].encoded); !errors.Is(err, passwords.ErrLimitExceeded) {
		t.Fatalf("BcryptMaxCost 14: Validate(argon2 4 GiB) = %v", err)
	}
}

// malformed hashes must fail with ErrInvalidHash, never panic, and never quote the
// hash in the error.
var malformed = []struct {
	name, encoded, want string
}{
	{"empty", "", "the hash is empty"},
	{"a plaintext password", "hunter2-is-my-password", "not recognised"},
	{"too long", "$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 1100) + "$" + key32, "longer than 1024 bytes"},
	{"MD5-crypt", "$1$saltsalt$2vYtDbN3kGLMVi.LV1Rjl0", "MD5-crypt ($1$) hashes are not supported"},
	{"SHA-512-crypt", "$6$rounds=5000$saltsalt$abc", "SHA-512-crypt ($6$) hashes are not supported"},
	{"Django salted SHA-1", "sha1$abcd$0123456789abcdef0123456789abcdef01234567", "Django's salted SHA-1 hashes are not supported"},
	{"Django unusable password", "!Ab3kd8ZkL0q2XzW9mNbVcXzLkJhGfDsAqWeRtYuIo", "unusable-password marker"},
	{"passlib bcrypt_sha256", "$bcrypt-sha256$v=2,t=2b,r=12$n79VH.0Q2TMWmt3Oqt9uku$Kq4Noyk3094Y2QlB8NdRT8SvGiI4ft2", "passlib's bcrypt_sha256"},

	{"argon2d", "$argon2d$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32, "argon2d hashes are not supported"},
	{"argon2 unknown variant", "$argon2x$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32, "not recognised"},
	{"argon2 1.0 without version", "$argon2id$m=64,t=1,p=1$" + salt16 + "$" + key32, "without a version field"},
	{"argon2 version 16", "$argon2id$v=16$m=64,t=2,p=2$c2Vhc2FsdDAxMjM0NTY3ODk$Jc/KZarAFfRKXvGAk2tY6pw3BBsmkRc/Fwdtewc5Px4", "argon2 version 16 is not supported"},
	{"argon2 malformed version", "$argon2id$v=x$m=64,t=1,p=1$" + salt16 + "$" + key32, "version field is malformed"},
	{"argon2 truncated", "$argon2id$v=19$m=64,t=1,p=1$" + salt16, "this one has 5"},
	{"argon2 only its name", "$argon2id$", "this one has 3"},
	{"argon2 extra field", "$argon2id$v=19$m=64,t=1,p=1$" + salt16 + "$" + key32 + "$", "this one has 7"},
	{"argon2 negative memory", "$argon2id$v=19$m=-1,t=1,p=1$" + salt16 + "$" + key32, "parameter m is missing"},
	{"argon2 memory overflowing 32 bits", "$argon2id$v=19$m=4294967296,t=1,p=1$" + salt16 + "$" + key32, "parameter m is missing"},
	{"argon2 memory of 30 digits", "$argon2id$v=19$m=999999999999999999999999999999,t=1,p=1$" + salt16 + "$" + key32, "parameter m is missing"},
	{"argon2 leading zero", "$argon2id$v=19$m=064,t=1,p=1$" + salt16 + "$" + key32, "parameter m is missing"},
	{"argon2 plus sign", "$argon2id$v=19$m=+64,t=1,p=1$" + salt16 + "$" + key32, "parameter m is missing"},
	{"argon2 parameters out of order", "$argon2id$v=19$t=1,m=64,p=1$" + salt16 + "$" + key32, "parameter m is missing"},
	{"argon2 keyid", "$argon2id$v=19$m=64,t=1,p=1,keyid=AAAA$" + salt16 + "$" + key32, "exactly m, t and p"},
	{"argon2 zero passes", "$argon2id$v=19$m=64,t=0,p=1$" + salt16 + "$" + key32, "time must be at least 1"},
	{"argon2 zero lanes", "$argon2id$v=19$m=64,t=1,p=0$" + salt16 + "$" + key32, "parallelism 0 is outside"},
	{"argon2 less than 8 KiB a lane", "$argon2id$v=19$m=8,t=1,p=2$" + salt16 + "$" + key32, "below 8 KiB per lane"},
	{"argon2 salt not base64", "$argon2id$v=19$m=64,t=1,p=1$!!!!!!!!!!!!$" + key32, "salt is not valid unpadded base64"},
	{"argon2 salt with a line break", "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAA\nAAAAAAAAAAAA$" + key32, "salt is not valid unpadded base64"},
	{"argon2 padded salt", "$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA==$" + key32, "salt is not valid unpadded base64"},
	{"argon2 hash with nonzero padding bits", "$argon2id$v=19$m=64,t=1,p=1$" + salt16 + "$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB", "hash is not valid unpadded base64"},
	{"argon2 NUL byte", "$argon2id$v=19$m=64,t=1,p=1$" + salt16 + "\x00$" + key32, "salt is not valid unpadded base64"},

	{"bcrypt $2x$", "$2x$05$" + bcrypt53, "$2x$ hashes"},
	{"bcrypt $2$", "$2$05$" + bcrypt53, "original bcrypt $2$ variant"},
	{"bcrypt truncated", "$2b$05$" + bcrypt53[:40], "a bcrypt hash has 60 characters, this one has 47"},
	{"bcrypt cost not a number", "$2b$1a$" + bcrypt53, "cost is not a number"},
	{"bcrypt cost below 4", "$2b$03$" + bcrypt53, "bcrypt cost 3 is below bcrypt's minimum of 4"},
	{"bcrypt unknown minor", "$2c$05$" + bcrypt53, "prefix is not $2a$, $2b$ or $2y$"},
	{"bcrypt outside its alphabet", "$2b$05$" + strings.Replace(bcrypt53, "r", "+", 1), "bcrypt's base64 alphabet"},
	{"Django bcrypt without a bcrypt hash", "bcrypt$$2b$05$", "a bcrypt hash has 60 characters"},

	{"Django PBKDF2 missing field", "pbkdf2_sha256$1000$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ=", "this one has 3"},
	{"Django PBKDF2 extra field", "pbkdf2_sha256$1000$salt$extra$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ=", "this one has 5"},
	{"Django PBKDF2 zero iterations", "pbkdf2_sha256$0$seasalt0123456789ABCD$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ=", "iteration count is not a number"},
	{"Django PBKDF2 negative iterations", "pbkdf2_sha256$-1000$seasalt0123456789ABCD$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ=", "iteration count is not a number"},
	{"Django PBKDF2 iterations overflowing 32 bits", "pbkdf2_sha256$4294967296$seasalt0123456789ABCD$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ=", "iteration count is not a number"},
	{"Django PBKDF2 unpadded hash", "pbkdf2_sha256$1000$seasalt0123456789ABCD$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ", "not valid padded base64"},
	{"Django PBKDF2 SHA-1-sized hash for SHA-256", "pbkdf2_sha256$1000$seasalt0123456789ABCD$IW3XrOckQBYmOPJ+n9NNAJQBm1w=", "a PBKDF2-SHA-256 hash has 32 bytes, this one has 20"},
	{"Django PBKDF2 unknown digest", "pbkdf2_md5$1000$seasalt0123456789ABCD$IW3XrOckQBYmOPJ+n9NNAJQBm1w=", "not recognised"},
	{"Django PBKDF2 salt not UTF-8", "pbkdf2_sha1$1000$seasalt\xff0123456789$IW3XrOckQBYmOPJ+n9NNAJQBm1w=", "salt is not UTF-8 text"},
	{"passlib PBKDF2 unknown digest", "$pbkdf2-md5$1000$AQIDBPv//v0QIDBA8ODQwA$VsiHzfY5pz1iMQDZ.c32.Xy1rfM", "not recognised"},
	{"passlib PBKDF2 bad salt", "$pbkdf2$1000$AQIDB*v//v0QIDBA8ODQwA$VsiHzfY5pz1iMQDZ.c32.Xy1rfM", "salt is not valid adapted base64"},
	{"passlib PBKDF2 leading zero", "$pbkdf2$01000$AQIDBPv//v0QIDBA8ODQwA$VsiHzfY5pz1iMQDZ.c32.Xy1rfM", "iteration count is not a number"},

	{"scrypt ln=0", "$scrypt$ln=0,r=8,p=1$" + salt16 + "$" + key32, "scrypt ln 0 is outside 1 to 63"},
	{"scrypt ln=64", "$scrypt$ln=64,r=8,p=1$" + salt16 + "$" + key32, "scrypt ln 64 is outside 1 to 63"},
	{"scrypt r=0", "$scrypt$ln=10,r=0,p=1$" + salt16 + "$" + key32, "r and p must be at least 1"},
	{"scrypt r×p too large", "$scrypt$ln=1,r=65536,p=65536$" + salt16 + "$" + key32, "r × p must be below 2^30"},
	{"scrypt parameters out of order", "$scrypt$r=8,ln=10,p=1$" + salt16 + "$" + key32, "parameter ln is missing"},
	{"scrypt missing parameter", "$scrypt$ln=10,r=8$" + salt16 + "$" + key32, "exactly ln, r and p"},
	{"Django scrypt N not a power of 2", "scrypt$1000$seasalt0123456789ABCD$8$1$nt7znwQ3Fc2o3gVXKL3UNE58WzRad0NRtDlSepv9eX19FSPLV7P/VHMUHMxVRqILBjBVr+2kmX3/wgfdcgxA2Q==", "N must be a power of 2"},
	{"Django scrypt short hash", "scrypt$1024$seasalt0123456789ABCD$8$1$IW3XrOckQBYmOPJ+n9NNAJQBm1w=", "a Django scrypt hash has 64 bytes, this one has 20"},
	{"Django scrypt missing field", "scrypt$1024$seasalt0123456789ABCD$8$nt7znwQ3Fc2o3gVXKL3UNE58WzRad0NRtDlSepv9eX19FSPLV7P/VHMUHMxVRqILBjBVr+2kmX3/wgfdcgxA2Q==", "this one has 5"},
}

func TestMalformedHashesAreRefusedInWords(t *testing.T) {
	h := newHasher(t, passwords.Config{})
	for _, tc := range malformed {
		t.Run(tc.name, func(t *testing.T) {
			err := h.Validate(tc.encoded)
			if !errors.Is(err, passwords.ErrInvalidHash) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v; want ErrInvalidHash saying %q", err, tc.want)
			}
			if res, verr := h.Verify(context.Background(), staple, tc.encoded); res.OK || verr == nil || verr.Error() != err.Error() {
				t.Fatalf("Verify = %+v, %v; want the error of Validate", res, verr)
			}
			if !h.NeedsRehash(tc.encoded) {
				t.Fatal("NeedsRehash = false")
			}
			// The message is made of words and parsed numbers, never of the hash.
			for _, field := range strings.FieldsFunc(tc.encoded, func(r rune) bool { return r == '$' }) {
				if len(field) >= 8 && strings.Contains(err.Error(), field) {
					t.Fatalf("the error quotes part of the hash: %v", err)
				}
			}
		})
	}
}
