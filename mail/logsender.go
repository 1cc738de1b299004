package mail

import (
	"context"
	"fmt"
	"log/slog"
)

// LogSender is the Sender of development without an SMTP server: it writes each message
// to the log instead, text body and links included, so a developer can follow them. It
// must never be used in production, where those links are credentials.
type LogSender struct {
	log *slog.Logger
}

var _ Sender = (*LogSender)(nil)

// NewLogSender returns a LogSender writing to log.
func NewLogSender(log *slog.Logger) *LogSender { return &LogSender{log: log} }

// LogMessage is what LogSender logs, at Warn level so it stands out.
const LogMessage = "DEV MAIL — not sent, SMTP is not configured"

// Send logs m. It validates m first, as an SMTPSender would, so that development
// catches the messages production would refuse.
func (s *LogSender) Send(ctx context.Context, m Message) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("mail: send: %w", err)
	}
	s.log.WarnContext(ctx, LogMessage, slog.String("to", m.To), slog.String("subject", m.Subject),
		slog.String("text", m.Text))
	return nil
}
