package redact_test

import (
	"testing"

	"github.com/identityd/identityd/redact"
)

func TestIsSensitive(t *testing.T) {
	sensitive := []string{
		// The examples every caller relies on.
		"password", "new_password", "client_secret", "access_token", "refresh_token", "id_token",
		"code", "code_verifier", "totp_code", "X-Api-Key", "Set-Cookie", "Authorization",
		"client_assertion", "privateKey", "otp",
		// Every word on the list, alone.
		"passwords", "passwd", "pwd", "passphrase", "secret", "secrets", "token", "tokens", "codes",
		"totp", "pin", "cookie", "cookies", "credential", "credentials", "assertion", "apikey", "privatekey",
		// Case and separators do not matter.
		"PASSWORD", "Password", "user.password", "user password", "password[]", "passwords:confirm",
		"current-password", "Proxy-Authorization", "x_auth_token", "session-cookie", "recovery_codes",
		// camelCase and acronyms.
		"clientSecret", "newPassword", "accessToken", "IDToken", "idToken", "APIKey", "apiKey",
		"XApiKey", "webhookSecretKey", "mfaPIN", "totpSeedOTP",
		// Letters and digits split.
		"password2", "otp1", "token2fa",
		// "key" after a word that makes it key material.
		"api_key", "API_KEY", "api_keys", "private_key", "PRIVATE_KEY", "secret_key", "encryption_key",
		"encryption_keys", "signing_key", "signingKey", "master_key", "hmac_key", "apikeys", "privatekeys",
		// Accepted over-redaction: harmless fields whose names contain a listed word.
		"status_code", "token_type", "code_challenge", "code_challenge_method", "authorization_endpoint",
	}
	notSensitive := []string{
		// The examples every caller relies on.
		"email", "username", "user_agent", "request_id", "key_id", "kid", "scope", "state", "nonce",
		"redirect_uri", "grant_type", "status", "duration",
		// Words merely containing a listed word are not that word.
		"spinner", "opinion", "barcode", "codec", "tokenizer", "encode", "otpauth", "pinned",
		// "key" alone, or after another word, is an identifier.
		"key", "keys", "public_key", "publicKey", "key_ops", "jwks_key_count", "api", "private",
		// Ordinary fields.
		"", "-", "msg", "level", "time", "method", "path", "client_id", "user_id", "Content-Type",
		"X-Request-Id", "ip", "response_type", "prompt", "login_hint",
	}
	for _, key := range sensitive {
		if !redact.IsSensitive(key) {
			t.Errorf("IsSensitive(%q) = false, want true", key)
		}
	}
	for _, key := range notSensitive {
		if redact.IsSensitive(key) {
			t.Errorf("IsSensitive(%q) = true, want false", key)
		}
	}
}

func TestIsSensitiveHandlesAnyString(t *testing.T) {
	for _, key := range []string{
		"\xff\xfepassword", // invalid UTF-8 separates words
		"ПАРОЛЬ_token",     // other scripts split and lowercase too
		"pass\u200bword_token",
		"a_very_long_word_that_exceeds_every_listed_word_token",
	} {
		if !redact.IsSensitive(key) {
			t.Errorf("IsSensitive(%q) = false, want true", key)
		}
	}
	for _, key := range []string{"\xff", "\u00e9t\u00e9", "supercalifragilisticexpialidocious", "パスワード"} {
		if redact.IsSensitive(key) {
			t.Errorf("IsSensitive(%q) = true, want false", key)
		}
	}
}

// IsSensitive runs for every logged attribute, so it must not allocate.
func BenchmarkIsSensitive(b *testing.B) {
	keys := []string{"request_id", "clientSecret", "X-Forwarded-For", "duration", "refresh_token"}
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			redact.IsSensitive(k)
		}
	}
}

func TestIsSensitiveDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		redact.IsSensitive("X-Very-Long-Header-Name-For-Testing-clientSecretKey")
	})
	if allocs != 0 {
		t.Errorf("IsSensitive allocates %v times per call, want 0", allocs)
	}
}
