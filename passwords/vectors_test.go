package passwords_test

import (
	"context"
	"strings"
	"testing"

	"github.com/identityd/identityd/passwords"
)

// vector is a hash made by a tool other than this package, with the password it
// hides. The tools and commands are in the comments of each group.
type vector struct {
	name, password, encoded string
	// current is true for argon2id in this package's encoding with the parameters of
	// cheap: the only vectors that need no rehash.
	current bool
}

const staple = "correct horse battery staple"

var vectors = []vector{
	// The argon2 reference implementation, phc-winner-argon2 20171227 (Debian package
	// argon2), for example:
	//   echo -n "correct horse battery staple" | argon2 seasalt0123456789 -id -t 2 -k 64 -p 2 -l 32 -e
	{"reference argon2id", staple, "$argon2id$v=19$m=64,t=2,p=2$c2Vhc2FsdDAxMjM0NTY3ODk$FB9DuHt3ZSpo1wMu7OZmDzJPsa0SNy62aygfToV77SY", false},
	// ... argon2 seasalt0123456789 -i -t 3 -k 32 -p 1 -l 24 -e
	{"reference argon2i, 24-byte key", staple, "$argon2i$v=19$m=32,t=3,p=1$c2Vhc2FsdDAxMjM0NTY3ODk$LBYNzEVJpsPANtptqL709gBFOV5L8aKj", false},
	// echo -n "pässwörd" | argon2 seasalt0123456789 -id -t 1 -k 128 -p 4 -l 32 -e
	{"reference argon2id, 4 lanes, UTF-8 password", "pässwörd", "$argon2id$v=19$m=128,t=1,p=4$c2Vhc2FsdDAxMjM0NTY3ODk$WBcQyIu2Zn8f3agDwgUS2WYQgVAXNAyFxo5PCEzKXQg", false},
	// ... argon2 0123456789abcdef -id -t 1 -k 7168 -p 1 -l 32 -e: cheap's parameters.
	{"reference argon2id with the current parameters", staple, "$argon2id$v=19$m=7168,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$iXkNVrBBji8iUhkl0sei3qibav/em9Jj4SfkjlqN67g", true},

	// argon2-cffi 21.1.0 through passlib 1.7.4 (Debian python3-passlib, python3-argon2), with
	// S = bytes 01 02 03 04 fb ff fe fd 10 20 30 40 f0 e0 d0 c0:
	//   passlib.hash.argon2.using(type="ID", memory_cost=256, rounds=2, parallelism=1, salt=S).hash(staple)
	{"passlib argon2id, 16-byte key", staple, "$argon2id$v=19$m=256,t=2,p=1$AQIDBPv//v0QIDBA8ODQwA$tg15XapttVuMDTcpns6uiQ", false},
	{"passlib argon2i", staple, "$argon2i$v=19$m=256,t=2,p=1$AQIDBPv//v0QIDBA8ODQwA$QeU3kMSZMpPQpfdD/rUZjw", false},
	// passlib.hash.pbkdf2_sha256.using(rounds=1000, salt=S).hash(staple), and likewise
	// pbkdf2_sha512 and pbkdf2_sha1. Their adapted base64 has "." for "+".
	{"passlib pbkdf2_sha256", staple, "$pbkdf2-sha256$1000$AQIDBPv//v0QIDBA8ODQwA$eO5Gn7Go2okrLW1FdY96E1.Y5lA8VtkR52U4OB0fi3s", false},
	{"passlib pbkdf2_sha512", staple, "$pbkdf2-sha512$1000$AQIDBPv//v0QIDBA8ODQwA$8P./knT5JDeDhN3KT1SujtCZ/M6LNnRjYsOanZ80UU5GMtsxbH5L9e6GDFVVlMBWv6NxjSVVef0rVGqTSb3H1A", false},
	{"passlib pbkdf2_sha1", staple, "$pbkdf2$1000$AQIDBPv//v0QIDBA8ODQwA$VsiHzfY5pz1iMQDZ.c32.Xy1rfM", false},
	// passlib.hash.scrypt.using(rounds=10, block_size=8, parallelism=1, salt=S).hash(staple)
	{"passlib scrypt", staple, "$scrypt$ln=10,r=8,p=1$AQIDBPv//v0QIDBA8ODQwA$uqKLoKlzSqymMdK92vkf0FdIJfac9tI3/OR7T6zABFQ", false},

	// Django 3.2.25 (Debian python3-django) with salt "seasalt0123456789ABCD":
	//   PBKDF2PasswordHasher().encode(staple, salt, 1000), PBKDF2SHA1PasswordHasher likewise
	{"Django pbkdf2_sha256", staple, "pbkdf2_sha256$1000$seasalt0123456789ABCD$bv7Ukm/GIpsvogv3MDh0GPIJ8IUUuxKmyMzdJxLflmQ=", false},
	{"Django pbkdf2_sha1", staple, "pbkdf2_sha1$1000$seasalt0123456789ABCD$IW3XrOckQBYmOPJ+n9NNAJQBm1w=", false},
	// Argon2PasswordHasher with time_cost=1, memory_cost=64, parallelism=2, and the same
	// with params().type = argon2.low_level.Type.I.
	{"Django argon2id", staple, "argon2$argon2id$v=19$m=64,t=1,p=2$c2Vhc2FsdDAxMjM0NTY3ODlBQkNE$iXGUFdX6csM3tXH/W15I0A", false},
	{"Django argon2i", staple, "argon2$argon2i$v=19$m=64,t=1,p=2$c2Vhc2FsdDAxMjM0NTY3ODlBQkNE$IlHf8O4BEUF9mBhxGnPIDg", false},
	// BCryptSHA256PasswordHasher().encode(staple, bcrypt.gensalt(5)), BCryptPasswordHasher likewise
	// (pyca bcrypt 3.2.2).
	{"Django bcrypt_sha256", staple, "bcrypt_sha256$$2b$05$rW6neuBA1VXzOpA94D7oY.RRKJg75fiCbQ31gC1nEzXrWA.LqKyOe", false},
	{"Django bcrypt", staple, "bcrypt$$2b$05$T1GvrlgGqLNLXuXQkJbAG.eINVUBfCxBOjKoIJaIXNwDDNMArVwMW", false},
	// BCryptSHA256PasswordHasher().encode("y"*80 + "!", bcrypt.gensalt(4)): past bcrypt's 72 bytes.
	{"Django bcrypt_sha256, 81 characters", strings.Repeat("y", 80) + "!", "bcrypt_sha256$$2b$04$9G.Trc7nSBJgrc6nH7T7r.D0wlDM.HIZj2M29vls1lLHVWTrkwcoq", false},
	// Django 3.2 has no ScryptPasswordHasher; this is Django 4.0+'s layout computed with
	// Python's hashlib.scrypt (OpenSSL):
	//   h = hashlib.scrypt(staple.encode(), salt=b"seasalt0123456789ABCD", n=1024, r=8, p=5, dklen=64)
	//   "scrypt$%d$%s$%d$%d$%s" % (1024, "seasalt0123456789ABCD", 8, 5, base64.b64encode(h).decode())
	{"Django scrypt", staple, "scrypt$1024$seasalt0123456789ABCD$8$5$nt7znwQ3Fc2o3gVXKL3UNE58WzRad0NRtDlSepv9eX19FSPLV7P/VHMUHMxVRqILBjBVr+2kmX3/wgfdcgxA2Q==", false},

	// pyca bcrypt 3.2.2: bcrypt.hashpw(staple.encode(), bcrypt.gensalt(5, prefix=b"2a")), and
	// the default prefix 2b.
	{"bcrypt $2a$", staple, "$2a$05$URePwMjXzQSsB.Lja1Xf6.SgoIPiGCMkQyXfMEoHC/SxnLg6Om1Te", false},
	{"bcrypt $2b$", staple, "$2b$05$rRPC7bKA8.l7lapdBimew.YFnR3v/QpoE2gkwzNEg48zZBz9hp.jm", false},
	// Apache htpasswd 2.4.57: htpasswd -bnBC 5 u "correct horse battery staple"
	{"bcrypt $2y$ (htpasswd)", staple, "$2y$05$kB5Bpkm8fBrxDf5hIJ.Cy.z37xQzVA/v69KBX.dn0MQ/x2DBFC616", false},
}

func TestVerifyKnownAnswers(t *testing.T) {
	h := newHasher(t, passwords.Config{})
	ctx := context.Background()
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			if err := h.Validate(v.encoded); err != nil {
				t.Fatalf("Validate = %v", err)
			}
			res, err := h.Verify(ctx, v.password, v.encoded)
			if err != nil || !res.OK {
				t.Fatalf("Verify(right password) = %+v, %v; want OK", res, err)
			}
			if res.NeedsRehash == v.current || h.NeedsRehash(v.encoded) == v.current {
				t.Errorf("NeedsRehash = %v (Verify) and %v (NeedsRehash); want %v", res.NeedsRehash, h.NeedsRehash(v.encoded), !v.current)
			}
			for _, wrong := range []string{v.password + "!", "Correct horse battery staple", ""} {
				res, err := h.Verify(ctx, wrong, v.encoded)
				if err != nil || res.OK || res.NeedsRehash {
					t.Errorf("Verify(%q) = %+v, %v; want a plain mismatch", wrong, res, err)
				}
			}
		})
	}
}

// The reference implementation's hash with OWASP's parameters is exactly what a
// Hasher with DefaultParams considers current: same encoding, same parameter order.
func TestDefaultParamsMatchTheReferenceEncoding(t *testing.T) {
	// echo -n "correct horse battery staple" | argon2 0123456789abcdef -id -t 2 -k 19456 -p 1 -l 32 -e
	const ref = "$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$gy5SuVm5Z7Vw7keB9se9p87QGcomaseB/S2U1OhTsM0"
	h := newHasher(t, passwords.Config{Params: passwords.DefaultParams()})
	res, err := h.Verify(context.Background(), staple, ref)
	if err != nil || !res.OK || res.NeedsRehash {
		t.Fatalf("Verify = %+v, %v; want OK without rehash", res, err)
	}
	if h.NeedsRehash(ref) {
		t.Fatal("NeedsRehash = true for a hash with the default parameters")
	}
}
