package mailtest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/identityd/identityd/mail/mailtest"
)

// A message in the forms other clients send: single part, base64, bare LF endings
// turned to CRLF by the protocol.
const singlePart = "From: a@example.com\r\n" +
	"To: b@example.org\r\n" +
	"Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"R3LDvMOfZSwgc2VlIGh0dHBzOi8vaWQuZXhhbXBsZS5jb20vcmVzZXQ/dG9rZW49\r\n" +
	"YWJjCmJ5ZQo=\r\n"

// sendPlain delivers singlePart without TLS or authentication.
func sendPlain(addr string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	if err := c.SendMail("a@example.com", []string{"b@example.org"}, strings.NewReader(singlePart)); err != nil {
		return err
	}
	return c.Quit()
}

func TestTheServerSpeaksSTARTTLSAndRequiresAuth(t *testing.T) {
	srv := mailtest.NewServer(t)
	plain, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := plain.Extension("AUTH"); ok {
		t.Error("the server offers AUTH before TLS")
	}
	if ok, _ := plain.Extension("STARTTLS"); !ok {
		t.Error("the server does not offer STARTTLS")
	}
	if err := plain.Mail("a@example.com", nil); err == nil {
		t.Error("the server took MAIL FROM without authentication")
	}
	_ = plain.Close()

	c, err := smtp.DialStartTLS(srv.Addr(), srv.ClientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	if err := c.Auth(sasl.NewPlainClient("", mailtest.User, "wrong")); err == nil {
		t.Error("a wrong password was accepted")
	}
	if err := c.Auth(sasl.NewPlainClient("", mailtest.User, mailtest.Password)); err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@example.com", []string{"b@example.org"}, strings.NewReader(singlePart)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := srv.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Grüße" || r.Text != "Grüße, see https://id.example.com/reset?token=abc\nbye\n" || r.HTML != "" {
		t.Errorf("parsed subject %q, text %q, html %q", r.Subject, r.Text, r.HTML)
	}
	if r.From != "a@example.com" || len(r.To) != 1 || r.To[0] != "b@example.org" || !r.TLS || r.Username != mailtest.User {
		t.Errorf("envelope %q → %v, TLS %v, user %q", r.From, r.To, r.TLS, r.Username)
	}
	if link, ok := mailtest.FindLink(r.Text, "https://id.example.com/reset?"); !ok || link != "https://id.example.com/reset?token=abc" {
		t.Errorf("FindLink: %q, %v", link, ok)
	}
	if _, ok := mailtest.FindLink(r.Text, "https://elsewhere/"); ok {
		t.Error("FindLink found a link that is not there")
	}
	auths := srv.AuthAttempts()
	if len(auths) != 2 || auths[0].OK || !auths[1].OK || !auths[1].TLS {
		t.Errorf("auth attempts %+v", auths)
	}
}

func TestFailNextRefusesThatManyDeliveries(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.WithoutTLS())
	srv.FailNext(2, 451)
	send := func() error { return sendPlain(srv.Addr()) }
	for i := range 2 {
		var se *smtp.SMTPError
		if err := send(); !errors.As(err, &se) || se.Code != 451 {
			t.Errorf("delivery %d: %v, want 451", i+1, err)
		}
	}
	if err := send(); err != nil {
		t.Fatalf("third delivery: %v", err)
	}
	if n, rejected := len(srv.Messages()), srv.Rejected(); n != 1 || rejected != 2 {
		t.Errorf("%d delivered and %d refused, want 1 and 2", n, rejected)
	}
}

func TestNextWaitsAndGivesUpWithItsContext(t *testing.T) {
	srv := mailtest.NewServer(t, mailtest.WithoutTLS())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := srv.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next on an idle server: %v", err)
	}
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = sendPlain(srv.Addr())
	}()
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if r, err := srv.Next(ctx); err != nil || r.Subject != "Grüße" {
		t.Errorf("Next: %+v, %v", r, err)
	}
}
