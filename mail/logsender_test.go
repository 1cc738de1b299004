package mail_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/syncbuf"
)

func TestLogSenderLogsTheMessageMarkedAsNotSent(t *testing.T) {
	var buf syncbuf.Buffer
	s := mail.NewLogSender(newLogger(&buf))
	m := testMessage("tok-dev")
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	var line struct {
		Level, Msg, To, Subject, Text string
	}
	if err := json.Unmarshal([]byte(buf.String()), &line); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	if line.Level != "WARN" || line.Msg != "DEV MAIL — not sent, SMTP is not configured" {
		t.Errorf("logged %s %q", line.Level, line.Msg)
	}
	if line.To != m.To || line.Subject != m.Subject || line.Text != m.Text {
		t.Errorf("logged %+v, want the message's recipient, subject and text", line)
	}
	if err := s.Send(context.Background(), mail.Message{To: "a@example.org\r\nBcc: b@example.org", Subject: "x", Text: "x"}); err == nil {
		t.Error("LogSender accepted a message SMTPSender would refuse")
	}
}
