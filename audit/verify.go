package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/store"
)

// ProblemKind classifies the first broken link Verify finds.
type ProblemKind string

// The kinds of broken link.
const (
	// Modified: a sealed event's content no longer matches its MAC — it was altered, or
	// forged and put in place of another.
	Modified ProblemKind = "modified"
	// Deleted: a sequence number is missing, or the chain ends before its head mark or
	// a checkpoint says it does.
	Deleted ProblemKind = "deleted"
	// Reordered: an authentic event sits where its chain link does not fit — events
	// were swapped, or one was removed or inserted before it and the rest renumbered.
	Reordered ProblemKind = "reordered"
	// Inserted: an event identityd never recorded — after the head of the chain, or
	// waiting to be sealed.
	Inserted ProblemKind = "inserted"
	// ForgedCheckpoint: a checkpoint's signature fails, or the checkpoint chain is cut.
	ForgedCheckpoint ProblemKind = "forged_checkpoint"
	// CheckpointMismatch: an authentic checkpoint names a different link than the chain
	// has at its sequence number: the chain was rewritten under it.
	CheckpointMismatch ProblemKind = "checkpoint_mismatch"
	// ForgedMark: the head or pruning mark fails its MAC.
	ForgedMark ProblemKind = "forged_mark"
	// Unverifiable: a record names a key that is not among the configured encryption
	// keys; restoring the key lets Verify check it.
	Unverifiable ProblemKind = "unverifiable"
)

// Problem is the first broken link.
type Problem struct {
	Kind    ProblemKind `json:"kind"`
	Seq     int64       `json:"seq,omitempty"`
	EventID string      `json:"event_id,omitempty"`
	Message string      `json:"message"`
}

// Report is the result of Verify.
type Report struct {
	// OK is true when every sealed event, checkpoint, mark and pending event verified.
	OK bool `json:"ok"`
	// FirstSeq and LastSeq bound the sealed events checked (FirstSeq is past what
	// retention pruned); both 0 when there are none.
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
	// Events is how many sealed events were checked.
	Events int64 `json:"events"`
	// Checkpoints is how many signed checkpoints were checked; LastCheckpoint is the
	// newest, if any.
	Checkpoints    int64      `json:"checkpoints"`
	LastCheckpoint *time.Time `json:"last_checkpoint,omitempty"`
	// Pending is how many recorded events wait to be sealed; they were checked against
	// their MACs.
	Pending int64 `json:"pending"`
	// Rejected is how many events the sealer refused as forged (each also recorded as
	// audit.tampering.detected).
	Rejected int64 `json:"rejected"`
	// Problem is the first broken link, when OK is false.
	Problem *Problem `json:"problem,omitempty"`
}

// verifyBatch is how many rows Verify reads at a time: its memory stays constant however
// long the log.
const verifyBatch = 1000

// Verify walks the whole log and reports the first broken link. An error means the log
// could not be read, not that it is broken.
//
// It reads one consistent snapshot of the log, so a sealer extending the chain meanwhile
// cannot make a sound chain look broken.
func (l *Log) Verify(ctx context.Context) (Report, error) {
	if l.keys == nil {
		return Report{}, errNoKeys
	}
	v := &verifier{l: l}
	err := l.db.ReadTx(ctx, func(tx *store.Tx) error {
		v.q = tx
		return v.run(ctx)
	})
	if err != nil {
		return Report{}, fmt.Errorf("audit: verify: %w", err)
	}
	v.rep.OK = v.rep.Problem == nil
	return v.rep, nil
}

type verifier struct {
	l   *Log
	q   store.Queryer // the snapshot every read goes through
	rep Report

	// checkpoint cursor
	cps      []checkpoint
	cpAfter  int64 // read checkpoints with seq > cpAfter next
	cpDone   bool
	cpPrevSg []byte // signature of the last checkpoint checked
	// cpMatch is the newest checkpoint checked so far; maxCheckpoint its sequence number.
	cpMatch       *checkpoint
	maxCheckpoint int64
}

type checkpoint struct {
	seq     int64
	link    []byte
	created time.Time
	keyID   string
	prev    []byte
	sig     []byte
}

func (v *verifier) fail(kind ProblemKind, seq int64, id, format string, args ...any) {
	if v.rep.Problem == nil {
		v.rep.Problem = &Problem{Kind: kind, Seq: seq, EventID: id, Message: fmt.Sprintf(format, args...)}
	}
}

func (v *verifier) run(ctx context.Context) error {
	l := v.l
	head, err := readMark(ctx, v.q, "head")
	if err != nil {
		return err
	}
	pruned, err := readMark(ctx, v.q, "pruned")
	if err != nil {
		return err
	}
	for _, m := range []struct {
		name string
		m    *mark
	}{{"pruned", pruned}, {"head", head}} {
		if m.m == nil {
			continue
		}
		if err := l.checkMark(m.name, m.m); err != nil {
			kind := ForgedMark
			if errors.Is(err, keyring.ErrUnknownKey) {
				kind = Unverifiable
			}
			v.fail(kind, m.m.seq, "", "the %s mark (#%d) does not verify: %v", m.name, m.m.seq, err)
			return nil
		}
	}

	next, prev := int64(1), genesis
	if pruned != nil {
		next, prev = pruned.seq+1, pruned.link
	}
	v.rep.FirstSeq = next
	for {
		rows, err := v.q.Query(ctx, `SELECT `+eventColumns+`, key_id, mac, seq, seal_key_id, chain_hash
			FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2`, next, verifyBatch)
		if err != nil {
			return err
		}
		type sealed struct {
			ev        Event
			keyID     string
			mac       []byte
			sealKeyID string
			link      []byte
		}
		batch, err := store.CollectRows(rows, func(r *store.Rows) (sealed, error) {
			var s sealed
			err := scanEvent(r, &s.ev, &s.keyID, &s.mac, &s.ev.Seq, &s.sealKeyID, &s.link)
			return s, err
		})
		if err != nil {
			return err
		}
		for _, s := range batch {
			if err := v.checkpointsUpTo(ctx, s.ev.Seq); err != nil || v.rep.Problem != nil {
				return err
			}
			e := &s.ev
			if e.Seq != next {
				v.fail(Deleted, next, "", "event #%d is missing: it was deleted (the chain jumps to #%d)", next, e.Seq)
				return nil
			}
			if head != nil && e.Seq > head.seq {
				v.fail(Inserted, e.Seq, e.ID, "event #%d (%s) lies beyond the head mark (#%d): it was inserted", e.Seq, e.ID, head.seq)
				return nil
			}
			if reason := l.checkEventMAC(e, s.keyID, s.mac); reason != "" {
				kind := Modified
				if _, err := l.keys.forID(s.keyID); err != nil {
					kind = Unverifiable
				}
				v.fail(kind, e.Seq, e.ID, "event #%d (%s, %s) was not recorded by identityd as it is: %s; it was modified, or forged and inserted",
					e.Seq, e.ID, e.Type, reason)
				return nil
			}
			ks, err := l.keys.forID(s.sealKeyID)
			if err != nil {
				v.fail(Unverifiable, e.Seq, e.ID, "event #%d (%s) was sealed under key %s, which is not configured", e.Seq, e.ID, s.sealKeyID)
				return nil
			}
			if want := chainLink(ks, prev, e.Seq, s.mac); !bytes.Equal(want, s.link) {
				v.fail(Reordered, e.Seq, e.ID, "event #%d (%s, %s) is authentic but out of place: its link does not follow event #%d; events were reordered, or one was removed or inserted before it",
					e.Seq, e.ID, e.Type, e.Seq-1)
				return nil
			}
			if v.cpMatch != nil && v.cpMatch.seq == e.Seq && !bytes.Equal(v.cpMatch.link, s.link) {
				v.fail(CheckpointMismatch, e.Seq, e.ID, "the signed checkpoint at #%d names a different chain than the events have: the chain was rewritten before #%d", e.Seq, e.Seq+1)
				return nil
			}
			prev, next = s.link, next+1
			v.rep.Events++
		}
		if len(batch) < verifyBatch {
			break
		}
	}
	last := next - 1
	if v.rep.Events > 0 {
		v.rep.LastSeq = last
	}

	// Checkpoints beyond the chain's end vouch for events that are gone.
	if err := v.checkpointsUpTo(ctx, 1<<62); err != nil || v.rep.Problem != nil {
		return err
	}
	if v.maxCheckpoint > last {
		v.fail(Deleted, last+1, "", "a signed checkpoint covers events up to #%d, but the chain ends at #%d: events were deleted from its end", v.maxCheckpoint, last)
		return nil
	}
	switch {
	case head == nil && last >= v.rep.FirstSeq:
		v.fail(Deleted, last, "", "sealed events exist but the head mark is missing: it was deleted")
		return nil
	case head != nil && head.seq > last:
		v.fail(Deleted, last+1, "", "the head mark says the chain reaches #%d, but it ends at #%d: events were deleted from its end", head.seq, last)
		return nil
	case head != nil && head.seq < last:
		v.fail(Inserted, head.seq+1, "", "events after the head mark (#%d) up to #%d were not sealed by identityd: they were inserted", head.seq, last)
		return nil
	case head != nil && !bytes.Equal(head.link, prev):
		v.fail(Reordered, last, "", "the head mark does not match the last link of the chain (#%d)", last)
		return nil
	}
	return v.checkPending(ctx)
}

// checkpointsUpTo checks every checkpoint up to seq, in order, leaving the newest in
// cpMatch.
func (v *verifier) checkpointsUpTo(ctx context.Context, seq int64) error {
	for {
		if len(v.cps) == 0 && !v.cpDone {
			if err := v.loadCheckpoints(ctx); err != nil {
				return err
			}
		}
		if len(v.cps) == 0 || v.cps[0].seq > seq {
			return nil
		}
		cp := v.cps[0]
		v.cps = v.cps[1:]
		if !v.checkCheckpoint(cp) {
			return nil
		}
		c := cp
		v.cpMatch = &c
		v.maxCheckpoint = cp.seq
	}
}

func (v *verifier) loadCheckpoints(ctx context.Context) error {
	rows, err := v.q.Query(ctx, `SELECT seq, chain_hash, created_at, key_id, prev, signature
		FROM audit_checkpoints WHERE seq > $1 ORDER BY seq LIMIT $2`, v.cpAfter, verifyBatch)
	if err != nil {
		return err
	}
	v.cps, err = store.CollectRows(rows, func(r *store.Rows) (checkpoint, error) {
		var c checkpoint
		return c, r.Scan(&c.seq, &c.link, &c.created, &c.keyID, &c.prev, &c.sig)
	})
	if err != nil {
		return err
	}
	if len(v.cps) < verifyBatch {
		v.cpDone = true
	}
	if n := len(v.cps); n > 0 {
		v.cpAfter = v.cps[n-1].seq
	}
	return nil
}

// checkCheckpoint checks a checkpoint's signature and its link to the one before, and
// reports false after recording a problem.
func (v *verifier) checkCheckpoint(cp checkpoint) bool {
	ks, err := v.l.keys.forID(cp.keyID)
	if err != nil {
		v.fail(Unverifiable, cp.seq, "", "the checkpoint at #%d was signed under key %s, which is not configured", cp.seq, cp.keyID)
		return false
	}
	pub := ks.sign.Public().(ed25519.PublicKey)
	if !ed25519.Verify(pub, checkpointMessage(cp.seq, cp.link, cp.created, cp.keyID, cp.prev), cp.sig) {
		v.fail(ForgedCheckpoint, cp.seq, "", "the checkpoint at #%d has an invalid signature: it was forged or altered", cp.seq)
		return false
	}
	want := make([]byte, sha256.Size)
	if v.cpPrevSg != nil {
		h := sha256.Sum256(v.cpPrevSg)
		want = h[:]
	}
	if !bytes.Equal(cp.prev, want) {
		v.fail(ForgedCheckpoint, cp.seq, "", "the checkpoint at #%d does not follow the checkpoint before it: a checkpoint was deleted", cp.seq)
		return false
	}
	v.cpPrevSg = cp.sig
	v.rep.Checkpoints++
	created := cp.created
	v.rep.LastCheckpoint = &created
	return true
}

// checkPending checks the MACs of events waiting to be sealed, and counts the rejected.
func (v *verifier) checkPending(ctx context.Context) error {
	l := v.l
	after := ""
	for {
		rows, err := v.q.Query(ctx, `SELECT `+eventColumns+`, key_id, mac FROM audit_pending
			WHERE rejected_at IS NULL AND id > $1 ORDER BY id LIMIT $2`, after, verifyBatch)
		if err != nil {
			return err
		}
		batch, err := store.CollectRows(rows, func(r *store.Rows) (sealRow, error) {
			var p sealRow
			err := scanEvent(r, &p.ev, &p.keyID, &p.mac)
			return p, err
		})
		if err != nil {
			return err
		}
		for _, p := range batch {
			if reason := l.checkEventMAC(&p.ev, p.keyID, p.mac); reason != "" {
				v.fail(Inserted, 0, p.ev.ID, "pending event %s (%s) was not recorded by identityd as it is: %s; it was inserted or modified",
					p.ev.ID, p.ev.Type, reason)
				return nil
			}
			v.rep.Pending++
			after = p.ev.ID
		}
		if len(batch) < verifyBatch {
			break
		}
	}
	return v.q.QueryRow(ctx, `SELECT count(*) FROM audit_pending WHERE rejected_at IS NOT NULL`).Scan(&v.rep.Rejected)
}
