// Package mail sends identityd's email: address verification, password reset and
// lockout notices.
//
// Messages are rendered by a Renderer (text and HTML from embedded templates), and sent
// either at once by a Sender (SMTPSender, or LogSender in development) or, as the
// domain packages do, durably through an Outbox: the message is sealed with the keyring
// and enqueued as a River job in the caller's transaction, so it goes out after that
// transaction commits and never if it rolls back. A Worker opens and sends it, retrying
// transient failures and giving up at once on permanent rejections.
//
// Links in these messages carry single-use tokens, so message bodies are never written
// to the job table in plaintext, nor to logs (except by LogSender, which exists to show
// a developer the link).
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"strings"
	"unicode/utf8"
)

// Message is one email.
type Message struct {
	// To is the single recipient: "alice@example.com" or "Alice <alice@example.com>".
	To string `json:"to"`
	// Subject is the subject line, plain text.
	Subject string `json:"subject"`
	// Text is the plain-text body; every message has one.
	Text string `json:"text"`
	// HTML is the HTML alternative of Text; empty sends a text-only message.
	HTML string `json:"html,omitempty"`
}

// Sender delivers a message now.
type Sender interface {
	// Send delivers m, or returns why not. An error that wraps ErrRejected is final: the
	// same message will never be accepted, so it must not be retried.
	Send(ctx context.Context, m Message) error
}

// ErrRejected marks a permanent refusal of a message (an SMTP 5xx reply to its
// recipient or content, such as an unknown mailbox): retrying cannot succeed.
var ErrRejected = errors.New("message rejected permanently")

// Limits on a Message. They keep a message to what our own templates produce, with room
// to spare, and keep a runaway caller from filling the job table.
const (
	maxSubjectRunes = 255
	maxAddressBytes = 254 // RFC 5321's limit on a forward path, less the angle brackets
	maxBodyBytes    = 1 << 20
)

// Validate reports whether m can be sent: To is one valid address, no header holds a
// line break (which would let a value inject headers of its own), the subject is at most
// 255 characters, the text body is not empty, and everything is valid UTF-8. Errors name
// the field at fault but never repeat its value.
func (m Message) Validate() error {
	if _, err := parseRecipient(m.To); err != nil {
		return err
	}
	switch {
	case strings.TrimSpace(m.Subject) == "":
		return errors.New("mail: message: subject is empty")
	case strings.ContainsFunc(m.Subject, isControl):
		return errors.New("mail: message: subject contains a line break or control character")
	case !utf8.ValidString(m.Subject):
		return errors.New("mail: message: subject is not valid UTF-8")
	case utf8.RuneCountInString(m.Subject) > maxSubjectRunes:
		return fmt.Errorf("mail: message: subject is longer than %d characters", maxSubjectRunes)
	case strings.TrimSpace(m.Text) == "":
		return errors.New("mail: message: text body is empty")
	case !utf8.ValidString(m.Text) || !utf8.ValidString(m.HTML):
		// Sealing goes through JSON, which would silently replace invalid bytes.
		return errors.New("mail: message: body is not valid UTF-8")
	case len(m.Text) > maxBodyBytes || len(m.HTML) > maxBodyBytes:
		return fmt.Errorf("mail: message: body is larger than %d bytes", maxBodyBytes)
	}
	return nil
}

// parseRecipient parses a Message's To.
func parseRecipient(to string) (*netmail.Address, error) {
	if strings.ContainsFunc(to, isControl) {
		return nil, errors.New("mail: message: recipient contains a line break or control character")
	}
	if !utf8.ValidString(to) {
		return nil, errors.New("mail: message: recipient is not valid UTF-8")
	}
	addr, err := netmail.ParseAddress(to)
	if err != nil {
		// ParseAddress's message repeats parts of the input.
		return nil, errors.New("mail: message: recipient is not a single valid email address")
	}
	if len(addr.Address) > maxAddressBytes {
		return nil, fmt.Errorf("mail: message: recipient address is longer than %d bytes", maxAddressBytes)
	}
	return addr, nil
}

// isControl reports the characters no header may hold: CR and LF above all, and the
// other C0 controls and DEL with them.
func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// recipientDomain returns the domain of m's recipient, for logs.
func recipientDomain(m Message) string {
	to, err := parseRecipient(m.To)
	if err != nil {
		return ""
	}
	return domainOf(to.Address)
}

// domainOf returns the lowercased domain of addr, the one part of a recipient that logs
// may show.
func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}
