package mail_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"testing"
	"time"

	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/mail/mailtest"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/syncbuf"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// testFrom is the sender of the tests' messages, with a name that needs encoding.
const testFrom = "Identität Server <no-reply@id.example.com>"

// newSender returns an SMTPSender for url that trusts tc.
func newSender(t *testing.T, url string, tc *tls.Config) *mail.SMTPSender {
	t.Helper()
	s, err := mail.NewSMTPSender(mail.SMTPConfig{URL: url, From: testFrom, Timeout: 10 * time.Second, TLSConfig: tc})
	if err != nil {
		t.Fatalf("NewSMTPSender: %v", err)
	}
	return s
}

// testMessage is a message whose link carries token.
func testMessage(token string) mail.Message {
	link := "https://id.example.com/verify?token=" + token
	return mail.Message{
		To:      "Zoë Müller <zoe.mueller@example.org>",
		Subject: "Bestätigen Sie Ihre Adresse — 確認",
		Text:    "Hallo Zoë,\n\nopen this link:\n\n" + link + "\n\nDanke.\n",
		HTML:    `<!DOCTYPE html><html><body><p>Hallo Zoë,</p><p><a href="` + link + `">` + link + `</a></p></body></html>`,
	}
}

// next waits up to ten seconds for the server's next message.
func next(t *testing.T, s *mailtest.Server) mailtest.Received {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := s.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func newLogger(b *syncbuf.Buffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
