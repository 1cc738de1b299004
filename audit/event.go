// Package audit is identityd's tamper-evident record of who did what.
//
// Code that changes state records its event in the same transaction (Log.Record), so the
// change and its record commit or roll back together. Recording is one INSERT with a MAC
// over the event's content: no lock, no shared state, nothing to lose once the
// transaction commits.
//
// A Sealer then gives recorded events a total order. One sealer works at a time (on
// PostgreSQL, an advisory lock picks it among replicas); it numbers pending events
// 1, 2, 3, … with no gaps, links each to the one before with an HMAC chain, keeps an
// authenticated head mark, and every so often signs a checkpoint of the chain with an
// Ed25519 key. Every key is derived from the configured encryption keys (keyring), so
// nothing secret is stored in the database that could forge a record.
//
// Verify walks the chain and names the first broken link: an event whose content no
// longer matches its MAC (modified, or forged and inserted), a missing sequence number
// (deleted), an event in a place its link does not match (reordered), a checkpoint whose
// signature fails (forged), or a head or pruning mark that does not match the events
// (truncated). Retention prunes events older than a checkpoint and leaves an
// authenticated mark, so what remains still verifies.
//
// Details pass through the redaction helper before they are recorded: passwords,
// secrets, tokens and codes never reach the log.
package audit

import (
	"encoding/json"
	"time"

	"github.com/identityd/identityd/requestinfo"
)

// Outcome says whether the action succeeded.
type Outcome string

// The outcomes.
const (
	Success Outcome = "success"
	Failure Outcome = "failure"
)

// Target is what an action was done to.
type Target struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

// Event is one record of the log.
type Event struct {
	// ID is a time-ordered UUID (version 7): ordering by id orders by time.
	ID string `json:"id"`
	// Time is when the event was recorded, in UTC with microsecond precision.
	Time time.Time `json:"time"`
	// Type is a dotted name from the catalogue (Types), e.g. admin.token.created.
	Type      string            `json:"type"`
	Actor     requestinfo.Actor `json:"actor"`
	Target    Target            `json:"target"`
	Outcome   Outcome           `json:"outcome"`
	ClientIP  string            `json:"client_ip,omitempty"`
	UserAgent string            `json:"user_agent,omitempty"`
	RequestID string            `json:"request_id,omitempty"`
	// Details is a JSON object, already redacted.
	Details json.RawMessage `json:"details,omitempty"`
	// Seq is the event's place in the sealed chain, 1 upwards; 0 until it is sealed.
	Seq int64 `json:"seq,omitempty"`

	// redacted says the catalogue's constructor already passed Details through the
	// redaction helper, so Record need not decode and re-encode them.
	redacted bool
}

// Limits on what an event may hold, so that a record cannot grow without bound.
const (
	maxDetailsBytes = 16 << 10
	maxFieldBytes   = 512
)
