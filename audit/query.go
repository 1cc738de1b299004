package audit

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/validation"
)

// Filter selects events. Zero fields select everything.
type Filter struct {
	// Type is an event type, or a dotted prefix of types: "admin.token" selects
	// admin.token.created, admin.token.revoked, ….
	Type string
	// ActorKind and ActorID select by actor; ActorID needs ActorKind.
	ActorKind requestinfo.ActorKind
	ActorID   string
	// TargetKind and TargetID select by target; TargetID needs TargetKind.
	TargetKind string
	TargetID   string
	Outcome    Outcome
	// Since and Until bound the time an event was recorded: Since ≤ time < Until.
	Since, Until time.Time
}

// ValidationError says why a filter, cursor or limit was refused, for the caller: the
// first field at fault.
type ValidationError = validation.Error

// scope begins the messages of this package's refusals.
const scope = "audit"

// MaxPageSize bounds one page of Query.
const MaxPageSize = 1000

// Validate checks f, naming the first field at fault.
func (f Filter) Validate() error {
	switch {
	case len(f.Type) > 128 || !validTypeText(f.Type):
		return validation.One(scope, "type", "must be an event type or a dotted prefix of one, like admin.token")
	case f.ActorKind != "" && !knownActorKind(f.ActorKind):
		return validation.One(scope, "actor", "the kind must be user, client, admin_token or system")
	case f.ActorID != "" && f.ActorKind == "":
		return validation.One(scope, "actor", "give the kind as well, as kind:id")
	case f.TargetID != "" && f.TargetKind == "":
		return validation.One(scope, "target", "give the kind as well, as kind:id")
	case len(f.ActorID) > maxFieldBytes || len(f.TargetKind) > maxFieldBytes || len(f.TargetID) > maxFieldBytes:
		return validation.One(scope, "actor", fmt.Sprintf("must be at most %d bytes", maxFieldBytes))
	case f.Outcome != "" && f.Outcome != Success && f.Outcome != Failure:
		return validation.One(scope, "outcome", "must be success or failure")
	case !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until):
		return validation.One(scope, "until", "must be after since")
	}
	return nil
}

func validTypeText(s string) bool {
	for _, c := range []byte(s) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return false
		}
	}
	return !strings.HasPrefix(s, ".") && !strings.HasSuffix(s, ".") && !strings.Contains(s, "..")
}

func knownActorKind(k requestinfo.ActorKind) bool {
	switch k {
	case requestinfo.ActorUser, requestinfo.ActorClient, requestinfo.ActorAdminToken, requestinfo.ActorSystem:
		return true
	}
	return false
}

// where renders f as SQL conditions with $n placeholders from next on.
func (f Filter) where(args []any) (string, []any) {
	var conds []string
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		conds = append(conds, cond)
	}
	if f.Type != "" {
		// The type itself, or anything under it: "a.b." ≤ type < "a.b/" ('/' follows '.').
		add("(type = ? OR (type >= ? AND type < ?))", f.Type, f.Type+".", f.Type+"/")
	}
	if f.ActorKind != "" {
		add("actor_kind = ?", string(f.ActorKind))
	}
	if f.ActorID != "" {
		add("actor_id = ?", f.ActorID)
	}
	if f.TargetKind != "" {
		add("target_kind = ?", f.TargetKind)
	}
	if f.TargetID != "" {
		add("target_id = ?", f.TargetID)
	}
	if f.Outcome != "" {
		add("outcome = ?", string(f.Outcome))
	}
	// Ids are time-ordered, so a time range is an id range on the primary key.
	if !f.Since.IsZero() {
		add("id >= ?", idBound(f.Since, false))
	}
	if !f.Until.IsZero() {
		add("id < ?", idBound(f.Until, false))
	}
	if len(conds) == 0 {
		return "TRUE", args
	}
	return strings.Join(conds, " AND "), args
}

// Page is one page of events, newest first, and the cursor of the next page ("" when
// this is the last).
type Page struct {
	Events []Event
	Next   string
}

// Query returns up to limit events matching f, newest first, after cursor ("" for the
// first page). Unsealed events are included (with Seq 0).
func (l *Log) Query(ctx context.Context, f Filter, limit int, cursor string) (Page, error) {
	if err := f.Validate(); err != nil {
		return Page{}, err
	}
	if limit < 1 || limit > MaxPageSize {
		return Page{}, validation.One(scope, "limit", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	cond, args := f.where(nil)
	if cursor != "" {
		before, err := decodeCursor(cursor)
		if err != nil {
			return Page{}, err
		}
		args = append(args, before)
		cond += " AND id < $" + strconv.Itoa(len(args))
	}
	args = append(args, limit+1)
	rows, err := l.db.Query(ctx, allEvents(cond)+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return Page{}, fmt.Errorf("audit: query: %w", err)
	}
	events, err := store.CollectRows(rows, scanWithSeq)
	if err != nil {
		return Page{}, fmt.Errorf("audit: query: %w", err)
	}
	page := Page{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		page.Next = base64.RawURLEncoding.EncodeToString([]byte(events[limit-1].ID))
	}
	return page, nil
}

// allEvents selects the sealed and the pending events (not those refused as forged) that
// satisfy cond, as one relation with the columns scanWithSeq reads.
func allEvents(cond string) string {
	return `SELECT * FROM (SELECT ` + eventColumns + `, seq FROM audit_events WHERE ` + cond +
		` UNION ALL SELECT ` + eventColumns + `, NULL AS seq FROM audit_pending WHERE ` + cond +
		` AND rejected_at IS NULL) AS e`
}

// ErrBadCursor means a cursor was not one Query made.
var ErrBadCursor = errors.New("audit: malformed cursor")

func decodeCursor(c string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || !validID(string(raw)) {
		return "", ErrBadCursor
	}
	return string(raw), nil
}

func scanWithSeq(r *store.Rows) (Event, error) {
	var (
		ev  Event
		seq *int64
	)
	if err := scanEvent(r, &ev, &seq); err != nil {
		return Event{}, err
	}
	if seq != nil {
		ev.Seq = *seq
	}
	return ev, nil
}

// Export calls fn for every event recorded in [since, until) — zero times leave that end
// open — oldest first, reading a bounded batch at a time, so its memory stays constant
// however many events there are.
func (l *Log) Export(ctx context.Context, since, until time.Time, fn func(Event) error) error {
	f := Filter{Since: since, Until: until}
	if err := f.Validate(); err != nil {
		return err
	}
	after := ""
	for {
		cond, args := f.where([]any{after})
		rows, err := l.db.Query(ctx, allEvents("id > $1 AND "+cond)+` ORDER BY id LIMIT `+strconv.Itoa(verifyBatch), args...)
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		batch, err := store.CollectRows(rows, scanWithSeq)
		if err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
		for _, ev := range batch {
			if err := fn(ev); err != nil {
				return err
			}
		}
		if len(batch) < verifyBatch {
			return nil
		}
		after = batch[len(batch)-1].ID
	}
}

// Sealed returns up to limit sealed events matching f with after < seq ≤ upTo, in chain
// order, and the sequence number the scan reached: upTo when fewer than limit matched,
// else the last event's. A live stream calls it with the hub's head as upTo and resumes
// from the returned position, so it neither misses nor repeats an event.
func (l *Log) Sealed(ctx context.Context, f Filter, after, upTo int64, limit int) ([]Event, int64, error) {
	if err := f.Validate(); err != nil {
		return nil, after, err
	}
	cond, args := f.where([]any{after, upTo})
	args = append(args, limit)
	rows, err := l.db.Query(ctx, `SELECT `+eventColumns+`, seq FROM audit_events WHERE seq > $1 AND seq <= $2 AND `+
		cond+` ORDER BY seq LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, after, fmt.Errorf("audit: read sealed events: %w", err)
	}
	events, err := store.CollectRows(rows, scanWithSeq)
	if err != nil {
		return nil, after, fmt.Errorf("audit: read sealed events: %w", err)
	}
	if len(events) < limit {
		return events, upTo, nil
	}
	return events, events[len(events)-1].Seq, nil
}
