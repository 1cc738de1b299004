package config_test

import (
	"strings"
	"testing"

	"github.com/identityd/identityd/config"
)

func TestSMTPURLsOfEveryDocumentedFormAreAccepted(t *testing.T) {
	for _, u := range []string{
		"smtp://mailer:s3cret@smtp.example.com:587",
		"smtp://smtp.example.com",
		"smtps://mailer:s3cret@smtp.example.com:465",
		"smtp://localhost:1025/?tls=none",
		"smtp://127.0.0.1:1025?tls=none",
	} {
		c := mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_SMTP_URL=" + u)})
		if c.SMTPURL != u {
			t.Errorf("%s: SMTPURL = %q", u, c.SMTPURL)
		}
	}
}

func TestBadSMTPURLsAreRefusedWithoutShowingThePassword(t *testing.T) {
	for _, tc := range []struct{ url, why string }{
		{"http://mailer:s3cret@smtp.example.com", "must start with smtp:// or smtps://"},
		{"smtp://mailer:s3cret@", "names no host"},
		{"smtp://mailer:s3cret@smtp.example.com:99999", "has an invalid port"},
		{"smtp://mailer:s3cret@smtp.example.com/inbox", "must not have a path or fragment"},
		{"smtp://mailer:s3cret@smtp.example.com?starttls=off", "has an unknown option (only tls=none is known)"},
		{"smtps://smtp.example.com?tls=none", "asks for TLS (smtps) and for none (tls=none) at once"},
		{"smtp://mailer:s3cret@localhost:25?tls=none", "would send a password without TLS (tls=none with a user)"},
		{"smtp://mailer:s3cret@smtp.example.com:%zz", "is not a valid URL"},
	} {
		ps := loadProblems(t, config.Sources{Env: prodEnv("IDENTITYD_SMTP_URL=" + tc.url)})
		text := ps.Error()
		if !strings.Contains(text, "smtp_url") || !strings.Contains(text, tc.why) {
			t.Errorf("%s: problems %q do not say %q", tc.url, text, tc.why)
		}
		if strings.Contains(text, "s3cret") {
			t.Errorf("%s: problems show the password: %s", tc.url, text)
		}
	}
}

func TestPlaintextSMTPIsForLoopbackOrDevOnly(t *testing.T) {
	env := prodEnv("IDENTITYD_SMTP_URL=smtp://relay.internal:25?tls=none")
	wantError(t, config.Sources{Env: env},
		`smtp_url = [redacted] (from IDENTITYD_SMTP_URL): turns TLS off (tls=none) for a server that is not on this machine. `+
			`Fix: use STARTTLS (smtp://) or TLS (smtps://); only a relay on loopback may go without, unless smtp_allow_plaintext is true.`)
	mustLoad(t, config.Sources{Env: env, Dev: true})
	mustLoad(t, config.Sources{Env: append(env, "IDENTITYD_SMTP_ALLOW_PLAINTEXT=true")})
}

func TestMailFromDefaultsToNoReplyAtTheIssuerHost(t *testing.T) {
	if got := mustLoad(t, config.Sources{Env: prodEnv()}).MailFrom; got != "no-reply@id.example.com" {
		t.Errorf("MailFrom = %q", got)
	}
	if got := mustLoad(t, config.Sources{Dev: true}).MailFrom; got != "no-reply@localhost" {
		t.Errorf("dev MailFrom = %q, want localhost for an issuer on an IP address", got)
	}
	got := mustLoad(t, config.Sources{Env: prodEnv(`IDENTITYD_MAIL_FROM=Example ID <id@example.com>`)}).MailFrom
	if got != "Example ID <id@example.com>" {
		t.Errorf("MailFrom = %q", got)
	}
}

func TestMailFromIsRequiredWhenThereIsSMTPAndNoIssuer(t *testing.T) {
	wantError(t, config.Sources{Env: []string{"IDENTITYD_SMTP_URL=smtp://smtp.example.com"}},
		`mail_from (from default): required when smtp_url is set and there is no issuer to derive it from. Fix: set IDENTITYD_MAIL_FROM, e.g. no-reply@example.com.`)
}

func TestBadMailFromAndProductNameAreRefused(t *testing.T) {
	for _, env := range []string{
		"IDENTITYD_MAIL_FROM=not an address",
		"IDENTITYD_MAIL_FROM=a@example.com, b@example.com",
		"IDENTITYD_PRODUCT_NAME=" + strings.Repeat("x", 101),
		"IDENTITYD_PRODUCT_NAME=Evil\u0007Bell",
	} {
		loadProblems(t, config.Sources{Env: prodEnv(env)})
	}
}
