package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
)

// SealerConfig tunes a Sealer.
type SealerConfig struct {
	// Interval is how often the sealer looks for pending events; 250ms when zero.
	Interval time.Duration
	// Batch is how many events one sealing transaction takes; 1000 when zero.
	Batch int
	// CheckpointEvery is how often a signed checkpoint is made while events arrive;
	// one minute when zero.
	CheckpointEvery time.Duration
	// OnSealed, when set, runs in each sealing transaction with the events it sealed,
	// in order. Webhook deliveries are enqueued here: exactly once per sealed event, and
	// off the request path.
	OnSealed func(ctx context.Context, tx *store.Tx, events []Event) error
	// Logger receives failures, and each checkpoint, so that a copy of every checkpoint
	// also leaves the database with the logs; nil discards them.
	Logger *slog.Logger
}

// Sealer orders recorded events into the chain. Run one per server; on PostgreSQL an
// advisory lock lets only one replica's sealer work at a time, so several may run.
type Sealer struct {
	log *Log
	hub *Hub
	cfg SealerConfig
}

// sealerLock is the PostgreSQL advisory lock key of the sealer: "idd-seal" in ASCII.
const sealerLock = 0x6964642d7365616c

// ErrChainBroken means the sealer found the chain's head mark altered or the events
// behind it changed, and will not extend a chain it cannot trust. Events stay pending
// (and safe) until an operator has run identityd audit verify.
var ErrChainBroken = errors.New("audit: the chain head does not verify; not sealing")

// NewSealer returns a sealer for l that tells hub about newly sealed events.
func NewSealer(l *Log, hub *Hub, cfg SealerConfig) *Sealer {
	if cfg.Interval <= 0 {
		cfg.Interval = 250 * time.Millisecond
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sealer{log: l, hub: hub, cfg: cfg}
}

// Run seals pending events every Interval until ctx ends.
func (s *Sealer) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.Seal(ctx); err != nil && ctx.Err() == nil {
			// A database outage fails every round; say so once, not four times a second.
			if msg := err.Error(); msg != lastErr {
				s.cfg.Logger.Error("audit: sealing failed; events stay pending", slog.String("error", msg))
				lastErr = msg
			}
			continue
		}
		lastErr = ""
	}
}

// Seal seals every pending event, a batch per transaction, and reports how many. It
// returns 0 without error when another replica holds the sealer's lock.
func (s *Sealer) Seal(ctx context.Context) (int, error) {
	if s.log.keys == nil {
		return 0, errNoKeys
	}
	total := 0
	for {
		n, more, err := s.sealBatch(ctx, false)
		total += n
		if err != nil || !more {
			return total, err
		}
	}
}

// Checkpoint seals what is pending and signs a checkpoint at the head now, whatever the
// time since the last one.
func (s *Sealer) Checkpoint(ctx context.Context) error {
	if _, err := s.Seal(ctx); err != nil {
		return err
	}
	_, _, err := s.sealBatch(ctx, true)
	return err
}

// mark is a row of audit_marks.
type mark struct {
	seq   int64
	link  []byte
	keyID string
	mac   []byte
}

func readMark(ctx context.Context, q store.Queryer, name string) (*mark, error) {
	var m mark
	err := q.QueryRow(ctx, `SELECT seq, chain_hash, key_id, mac FROM audit_marks WHERE name = $1`, name).
		Scan(&m.seq, &m.link, &m.keyID, &m.mac)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: read %s mark: %w", name, err)
	}
	return &m, nil
}

func writeMark(ctx context.Context, tx *store.Tx, ks *keySet, name string, seq int64, link []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO audit_marks (name, seq, chain_hash, key_id, mac) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET seq = excluded.seq, chain_hash = excluded.chain_hash,
		key_id = excluded.key_id, mac = excluded.mac`,
		name, seq, link, ks.id, markMAC(ks, name, seq, link))
	if err != nil {
		return fmt.Errorf("audit: write %s mark: %w", name, err)
	}
	return nil
}

// checkMark verifies a mark's MAC.
func (l *Log) checkMark(name string, m *mark) error {
	ks, err := l.keys.forID(m.keyID)
	if err != nil {
		return err
	}
	if !hmac.Equal(markMAC(ks, name, m.seq, m.link), m.mac) {
		return fmt.Errorf("the %s mark fails its MAC", name)
	}
	return nil
}

// eventColumns are the columns scanEvent reads.
const eventColumns = `id, recorded_at, type, actor_kind, actor_id, target_kind, target_id, outcome,
	client_ip, user_agent, request_id, details`

// sealRow is a pending event and its stored MAC.
type sealRow struct {
	ev    Event
	keyID string
	mac   []byte
}

func (s *Sealer) sealBatch(ctx context.Context, forceCheckpoint bool) (sealed int, more bool, err error) {
	l := s.log
	var head int64
	err = l.db.Tx(ctx, func(tx *store.Tx) error {
		if tx.Dialect() == store.Postgres {
			var got bool
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(sealerLock)).Scan(&got); err != nil {
				return fmt.Errorf("audit: sealer lock: %w", err)
			}
			if !got {
				return nil // another replica is sealing
			}
		}
		prevSeq, prev, err := s.chainHead(ctx, tx)
		if err != nil {
			return err
		}

		rows, err := tx.Query(ctx, `SELECT `+eventColumns+`, key_id, mac FROM audit_pending
			WHERE rejected_at IS NULL ORDER BY id LIMIT $1`, s.cfg.Batch)
		if err != nil {
			return fmt.Errorf("audit: read pending events: %w", err)
		}
		pending, err := store.CollectRows(rows, func(r *store.Rows) (sealRow, error) {
			var p sealRow
			err := scanEvent(r, &p.ev, &p.keyID, &p.mac)
			return p, err
		})
		if err != nil {
			return fmt.Errorf("audit: read pending events: %w", err)
		}
		more = len(pending) == s.cfg.Batch

		ks := l.keys.current
		var done []Event
		for _, p := range pending {
			if reason := l.checkEventMAC(&p.ev, p.keyID, p.mac); reason != "" {
				if err := s.reject(ctx, tx, p.ev.ID, reason); err != nil {
					return err
				}
				continue
			}
			prevSeq++
			prev = chainLink(ks, prev, prevSeq, p.mac)
			// Nothing here reads these writes back, so they travel with the commit: on
			// PostgreSQL a whole batch is sealed in one round trip.
			e := &p.ev
			tx.ExecAtCommit(insertSealed, prevSeq, e.ID, e.Time, e.Type, string(e.Actor.Kind), e.Actor.ID, e.Target.Kind, e.Target.ID,
				string(e.Outcome), e.ClientIP, e.UserAgent, e.RequestID, string(e.Details), p.keyID, p.mac, ks.id, prev)
			tx.ExecAtCommit(deleteSealed, e.ID)
			e.Seq = prevSeq
			done = append(done, *e)
		}
		if len(done) > 0 {
			if err := writeMark(ctx, tx, ks, "head", prevSeq, prev); err != nil {
				return err
			}
		}
		if err := s.maybeCheckpoint(ctx, tx, prevSeq, prev, forceCheckpoint); err != nil {
			return err
		}
		if len(done) > 0 && s.cfg.OnSealed != nil {
			if err := s.cfg.OnSealed(ctx, tx, done); err != nil {
				return fmt.Errorf("audit: after sealing: %w", err)
			}
		}
		if len(done) > 0 && tx.Dialect() == store.Postgres {
			// Delivered at commit to every replica's stream hub.
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, strconv.FormatInt(prevSeq, 10)); err != nil {
				return fmt.Errorf("audit: notify: %w", err)
			}
		}
		sealed, head = len(done), prevSeq
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	if sealed > 0 && s.hub != nil {
		s.hub.Advance(head)
	}
	return sealed, more, nil
}

// The statements that move each sealed event, prepared on SQLite by Log.Prepare.
const (
	insertSealed = `INSERT INTO audit_events (seq, id, recorded_at, type, actor_kind, actor_id, target_kind,
		target_id, outcome, client_ip, user_agent, request_id, details, key_id, mac, seal_key_id, chain_hash)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`
	deleteSealed = `DELETE FROM audit_pending WHERE id = $1`
)

// chainHead returns the last sealed link after checking that the head mark is authentic
// and that no event was removed from or added to the end of the chain behind its back.
func (s *Sealer) chainHead(ctx context.Context, tx *store.Tx) (int64, []byte, error) {
	head, err := readMark(ctx, tx, "head")
	if err != nil {
		return 0, nil, err
	}
	var maxSeq *int64
	if err := tx.QueryRow(ctx, `SELECT max(seq) FROM audit_events`).Scan(&maxSeq); err != nil {
		return 0, nil, fmt.Errorf("audit: read chain end: %w", err)
	}
	if head == nil {
		if maxSeq != nil {
			return 0, nil, fmt.Errorf("%w: sealed events exist but the head mark is missing", ErrChainBroken)
		}
		return 0, genesis, nil
	}
	if err := s.log.checkMark("head", head); err != nil {
		return 0, nil, fmt.Errorf("%w: %v", ErrChainBroken, err)
	}
	if pruned, err := readMark(ctx, tx, "pruned"); err != nil {
		return 0, nil, err
	} else if maxSeq == nil && (pruned == nil || pruned.seq != head.seq) {
		return 0, nil, fmt.Errorf("%w: the head mark says #%d but no sealed event is left", ErrChainBroken, head.seq)
	}
	if maxSeq != nil && *maxSeq != head.seq {
		return 0, nil, fmt.Errorf("%w: the head mark says #%d but the last sealed event is #%d", ErrChainBroken, head.seq, *maxSeq)
	}
	return head.seq, head.link, nil
}

// checkEventMAC returns why a stored event does not match its MAC, or "".
func (l *Log) checkEventMAC(ev *Event, keyID string, mac []byte) string {
	ks, err := l.keys.forID(keyID)
	if err != nil {
		return "its MAC key " + keyID + " is not among the configured encryption keys"
	}
	if !hmac.Equal(eventMAC(ks, ev), mac) {
		return "its content does not match its MAC"
	}
	return ""
}

// reject sets a forged pending event aside — it stays in audit_pending as evidence — so
// it never enters the chain and never blocks the events behind it, and records that it
// was found.
func (s *Sealer) reject(ctx context.Context, tx *store.Tx, id, reason string) error {
	if _, err := tx.Exec(ctx, `UPDATE audit_pending SET rejected_at = $1 WHERE id = $2`,
		s.log.now().UTC().Truncate(time.Microsecond), id); err != nil {
		return fmt.Errorf("audit: reject event: %w", err)
	}
	s.cfg.Logger.Error("audit: refused a pending event that identityd did not record", slog.String("event_id", id),
		slog.String("reason", reason))
	return s.log.Record(ctx, tx, auditTamperingDetected(id, reason))
}

// maybeCheckpoint signs a checkpoint at the head when the last one is old enough (or
// force) and the chain has grown since.
func (s *Sealer) maybeCheckpoint(ctx context.Context, tx *store.Tx, seq int64, link []byte, force bool) error {
	if seq == 0 {
		return nil
	}
	var (
		lastSeq int64
		lastAt  time.Time
		lastSig []byte
	)
	err := tx.QueryRow(ctx, `SELECT seq, created_at, signature FROM audit_checkpoints ORDER BY seq DESC LIMIT 1`).
		Scan(&lastSeq, &lastAt, &lastSig)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("audit: read last checkpoint: %w", err)
	}
	now := s.log.now().UTC().Truncate(time.Microsecond)
	if lastSeq >= seq || (!force && lastSig != nil && now.Sub(lastAt) < s.cfg.CheckpointEvery) {
		return nil
	}
	prev := make([]byte, sha256.Size)
	if lastSig != nil {
		h := sha256.Sum256(lastSig)
		prev = h[:]
	}
	ks := s.log.keys.current
	sig := ed25519.Sign(ks.sign, checkpointMessage(seq, link, now, ks.id, prev))
	if _, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (seq, chain_hash, created_at, key_id, prev, signature)
		VALUES ($1, $2, $3, $4, $5, $6)`, seq, link, now, ks.id, prev, sig); err != nil {
		return fmt.Errorf("audit: write checkpoint: %w", err)
	}
	// Logged too, so that a copy of every checkpoint leaves the database with the logs:
	// an attacker who can rewrite the database cannot rewrite those.
	s.cfg.Logger.Info("audit: checkpoint", slog.Int64("seq", seq), slog.String("chain_hash", fmt.Sprintf("%x", link)),
		slog.String("key_id", ks.id), slog.String("signature", fmt.Sprintf("%x", sig)))
	return nil
}

// scanEvent reads eventColumns, then extra columns into more.
func scanEvent(r interface{ Scan(...any) error }, ev *Event, more ...any) error {
	var actorKind, outcome, details string
	dest := append([]any{&ev.ID, &ev.Time, &ev.Type, &actorKind, &ev.Actor.ID, &ev.Target.Kind, &ev.Target.ID, &outcome,
		&ev.ClientIP, &ev.UserAgent, &ev.RequestID, &details}, more...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	ev.Actor.Kind = requestinfo.ActorKind(actorKind)
	ev.Outcome = Outcome(outcome)
	if details != "" {
		ev.Details = []byte(details)
	}
	return nil
}
