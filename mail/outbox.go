package mail

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/store"
)

// QueueName is the River queue mail is sent from. It is a queue of its own so that a
// slow or unreachable SMTP server never holds up other jobs.
const QueueName = "mail"

// MaxAttempts is how often a message is tried before River discards it. With River's
// default backoff (attempt⁴ seconds) the attempts span about four and a quarter hours:
// long enough to ride out a mail server's outage or greylisting, not so long that a
// link has expired when it arrives.
const MaxAttempts = 10

// sealAAD binds a sealed message to its purpose: the ciphertext does not open as any
// other kind of secret, nor anything else's ciphertext as a message.
var sealAAD = []byte("mail.send")

// SendArgs is the job that sends one message.
type SendArgs struct {
	// Sealed is the keyring-encrypted JSON of the Message. Links in messages carry
	// single-use tokens, and recipients are personal data: neither may sit in the job
	// table in plaintext.
	Sealed []byte `json:"sealed"`
}

// Kind names the job.
func (SendArgs) Kind() string { return "mail.send" }

// InsertOpts puts messages on their own queue with a bounded number of attempts,
// however they are enqueued.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueName, MaxAttempts: MaxAttempts}
}

// Enqueuer adds a job in a transaction. *jobs.Queue is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// Outbox sends messages durably, through River jobs that a Worker works.
type Outbox struct {
	kr *keyring.Keyring
	q  Enqueuer
}

// NewOutbox returns an Outbox that seals messages with kr and enqueues them on q.
func NewOutbox(kr *keyring.Keyring, q Enqueuer) *Outbox { return &Outbox{kr: kr, q: q} }

// Send enqueues m in tx: it is sent after tx commits, and never if tx rolls back. m is
// validated first, so a message that could never be sent fails its caller now rather
// than a job later.
func (o *Outbox) Send(ctx context.Context, tx *store.Tx, m Message) error {
	if err := m.Validate(); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	plain, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("mail: outbox: encode: %w", err)
	}
	sealed, err := o.kr.Encrypt(plain, sealAAD)
	if err != nil {
		return fmt.Errorf("mail: outbox: seal: %w", err)
	}
	if _, err := o.q.Enqueue(ctx, tx, SendArgs{Sealed: sealed}, nil); err != nil {
		return fmt.Errorf("mail: outbox: %w", err)
	}
	return nil
}

// open decrypts and decodes a sealed message, and validates it again: a message is
// only sent as Send would have accepted it.
func open(kr *keyring.Keyring, sealed []byte) (Message, error) {
	plain, err := kr.Decrypt(sealed, sealAAD)
	if err != nil {
		return Message{}, fmt.Errorf("mail: open: %w", err)
	}
	var m Message
	if err := json.Unmarshal(plain, &m); err != nil {
		return Message{}, fmt.Errorf("mail: open: decode: %w", err)
	}
	if err := m.Validate(); err != nil {
		return Message{}, fmt.Errorf("mail: open: %w", err)
	}
	return m, nil
}
