package audit

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/redact"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
)

// Log records events and reads them back.
type Log struct {
	db   *store.DB
	keys *keys
	now  func() time.Time
}

// New returns the audit log over db, with keys derived from kr; now is the clock. With a
// nil kr the log can only be read (Query, Export): recording and verifying need the keys.
func New(db *store.DB, kr *keyring.Keyring, now func() time.Time) (*Log, error) {
	l := &Log{db: db, now: now}
	if kr != nil {
		k, err := newKeys(kr)
		if err != nil {
			return nil, err
		}
		l.keys = k
	}
	return l, nil
}

// Prepare makes the database ready for recording and sealing at full speed (on SQLite it
// prepares the statements written for every event once, rather than parsing them at
// every event). Call it after migrations, outside any transaction; without it recording
// works, only slower.
func (l *Log) Prepare(ctx context.Context) error {
	for _, q := range []string{insertEvent, insertSealed, deleteSealed} {
		if err := l.db.Prepare(ctx, q); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
	}
	return nil
}

// errNoKeys is what a read-only log answers to work that needs the keys.
var errNoKeys = errors.New("audit: this log was opened without encryption keys and can only be read")

// ErrInvalidEvent means an event was refused before it was written: an unknown type, a
// field too long, details that are not a JSON object. It is always a programming error.
var ErrInvalidEvent = errors.New("audit: invalid event")

// Record writes ev in tx, so that it commits or rolls back with the change it describes.
// The id and time are set here; the actor, client address, user agent and request id
// come from ctx (requestinfo) unless ev sets them. Details are redacted.
//
// Record takes no lock and touches no shared row: the cost is one INSERT into the small
// pending table, which runs as tx commits (on PostgreSQL in the same round trip as the
// COMMIT), so a failure to write the event fails the commit and the change with it.
func (l *Log) Record(ctx context.Context, tx *store.Tx, ev Event) error {
	if l.keys == nil {
		return errNoKeys
	}
	if err := l.prepare(ctx, &ev); err != nil {
		return err
	}
	l.insert(tx, &ev)
	return nil
}

// insert queues the insert of ev, prepared, with its MAC, to run as tx commits.
func (l *Log) insert(tx *store.Tx, ev *Event) {
	mac := eventMAC(l.keys.current, ev)
	tx.ExecAtCommit(insertEvent,
		ev.ID, ev.Time, ev.Type, string(ev.Actor.Kind), ev.Actor.ID, ev.Target.Kind, ev.Target.ID, string(ev.Outcome),
		ev.ClientIP, ev.UserAgent, ev.RequestID, string(ev.Details), l.keys.current.id, mac)
}

const insertEvent = `INSERT INTO audit_pending
	(id, recorded_at, type, actor_kind, actor_id, target_kind, target_id, outcome,
	 client_ip, user_agent, request_id, details, key_id, mac)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`

// RecordNow records ev in a transaction of its own, for events that go with no database
// change: a refused request, a start or a stop.
func (l *Log) RecordNow(ctx context.Context, ev Event) error {
	return l.db.Tx(ctx, func(tx *store.Tx) error { return l.Record(ctx, tx, ev) })
}

// prepare completes and checks ev in place.
func (l *Log) prepare(ctx context.Context, ev *Event) error {
	if !KnownType(ev.Type) {
		return fmt.Errorf("%w: type %q is not in the catalogue", ErrInvalidEvent, ev.Type)
	}
	if ev.Outcome != Success && ev.Outcome != Failure {
		return fmt.Errorf("%w: %s: outcome %q", ErrInvalidEvent, ev.Type, ev.Outcome)
	}
	info := requestinfo.From(ctx)
	if ev.Actor == (requestinfo.Actor{}) {
		ev.Actor = info.Actor
	}
	if ev.Actor == (requestinfo.Actor{}) {
		ev.Actor = requestinfo.System
	}
	if ev.ClientIP == "" && info.ClientIP.IsValid() {
		ev.ClientIP = info.ClientIP.String()
	}
	if ev.UserAgent == "" {
		ev.UserAgent = info.UserAgent
	}
	if ev.RequestID == "" {
		ev.RequestID = info.ID
	}
	for _, f := range []*string{&ev.Actor.ID, &ev.Target.Kind, &ev.Target.ID, &ev.ClientIP, &ev.UserAgent, &ev.RequestID} {
		*f = clean(*f)
		if len(*f) > maxFieldBytes {
			return fmt.Errorf("%w: %s: a field is over %d bytes", ErrInvalidEvent, ev.Type, maxFieldBytes)
		}
	}
	if len(ev.Details) > 0 && !ev.redacted {
		red, err := redact.JSON(ev.Details)
		if err != nil || red[0] != '{' {
			return fmt.Errorf("%w: %s: details must be a JSON object", ErrInvalidEvent, ev.Type)
		}
		ev.Details = red
	}
	if len(ev.Details) > maxDetailsBytes {
		return fmt.Errorf("%w: %s: details are over %d bytes", ErrInvalidEvent, ev.Type, maxDetailsBytes)
	}
	ev.Time = l.now().UTC().Truncate(time.Microsecond)
	ev.ID = newID(ev.Time)
	ev.Seq = 0
	return nil
}

// clean makes a client-supplied string storable on both backends: valid UTF-8 without
// NUL, which PostgreSQL's text refuses.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// Available reports whether the database holds the audit log's tables; before their
// migration, and after it is reverted, there is nowhere to record.
func (l *Log) Available(ctx context.Context) bool {
	var n int
	return l.db.QueryRow(ctx, `SELECT count(*) FROM audit_marks`).Scan(&n) == nil
}
