package signingkeys

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// Why a key was created or deleted, as the audit log records it.
const (
	reasonInitial     = "initial"            // its algorithm had no key
	reasonScheduled   = "scheduled"          // the rotation schedule
	reasonRotation    = "rotation"           // Rotate
	reasonImmediate   = "immediate_rotation" // Rotate, immediately
	reasonUnpublished = "unpublished"        // every token it signed has expired
)

// changeKind is what a scheduled change does.
type changeKind int

const (
	retireKey changeKind = iota + 1
	deleteKey
	createKey
)

// change is one change the schedule asks for.
type change struct {
	kind changeKind
	// key is the key to retire or delete, as placed: a retired key with the times it
	// is to be given; successor is the key that replaced it.
	key       Key
	successor string
	// alg, activatesAt and reason describe the key to create.
	alg         Alg
	activatesAt time.Time
	reason      string
}

// Maintain makes the changes the schedule asks for, each in a transaction of its own
// with its audit event: it marks retired a key that a later one has replaced, deletes
// keys past their unpublish time, creates a key that signs at once for an algorithm that
// has none, and creates a next key once the current one has signed for RotationPeriod
// less the time a new key is published before it signs. Then it reloads the keys.
//
// Replicas may run it at once: each change holds a lock (on PostgreSQL an advisory
// lock; on SQLite the one writer) and is decided on the keys as they are under it, so
// one replica makes it and the others find nothing left to do.
func (s *Service) Maintain(ctx context.Context) error {
	// Keys are generated outside any transaction: an RSA key can take a good part of a
	// second, and on SQLite a transaction holds up every writer.
	spare := make(map[Alg]*fresh)
	for {
		need, changed, err := s.maintainOnce(ctx, spare)
		if err != nil {
			return fmt.Errorf("signingkeys: maintain: %w", err)
		}
		if need != "" {
			f, err := generate(need)
			if err != nil {
				return fmt.Errorf("signingkeys: maintain: %w", err)
			}
			spare[need] = f
			continue
		}
		if !changed {
			break
		}
	}
	if err := s.reload(ctx); err != nil {
		return fmt.Errorf("signingkeys: maintain: reload: %w", err)
	}
	return nil
}

// maintainOnce makes the first change due, if any, and reports whether it did. A new key
// comes from spare; when spare has none for the algorithm, nothing changes and need
// names the algorithm to generate one for.
func (s *Service) maintainOnce(ctx context.Context, spare map[Alg]*fresh) (need Alg, changed bool, err error) {
	err = s.change(ctx, func(tx *store.Tx, keys []Key, now time.Time) (bool, error) {
		c, ok := s.due(keys, now)
		if !ok {
			return false, nil
		}
		var ev audit.Event
		switch c.kind {
		case retireKey:
			k := c.key
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1, unpublish_at = $2 WHERE kid = $3`,
				*k.RetiredAt, *k.UnpublishAt, k.ID); err != nil {
				return false, fmt.Errorf("retire key %s: %w", k.ID, err)
			}
			ev = audit.SigningKeyRetired(k.ID, string(k.Alg), c.successor, *k.RetiredAt, *k.UnpublishAt)
		case deleteKey:
			if err := remove(ctx, tx, c.key); err != nil {
				return false, err
			}
			ev = audit.SigningKeyDeleted(c.key.ID, string(c.key.Alg), reasonUnpublished)
		case createKey:
			f := spare[c.alg]
			if f == nil {
				need = c.alg
				return false, nil
			}
			if err := s.insert(ctx, tx, f, now, c.activatesAt); err != nil {
				return false, err
			}
			delete(spare, c.alg)
			ev = audit.SigningKeyCreated(f.id, string(f.alg), c.activatesAt, c.reason)
		}
		if err := s.audit.Record(ctx, tx, ev); err != nil {
			return false, err
		}
		changed = true
		return true, nil
	})
	return need, changed, err
}

// due returns the first change the schedule asks for at now, given the stored keys.
// Every change it returns makes itself not due again, so Maintain ends.
func (s *Service) due(keys []Key, now time.Time) (change, bool) {
	marked := make(map[string]bool, len(keys))
	for _, k := range keys {
		marked[k.ID] = k.RetiredAt != nil
	}
	placed, _ := place(keys, now, s.cfg.MaxTokenLifetime)
	for i, k := range placed {
		if k.State == StateRetired && !marked[k.ID] {
			// place retires only a key with a later one of its algorithm after it.
			return change{kind: retireKey, key: k, successor: placed[i+1].ID}, true
		}
	}
	for _, k := range placed {
		if !published(k, now) {
			return change{kind: deleteKey, key: k}, true
		}
	}
	for _, alg := range s.cfg.Algs {
		var (
			cur     *Key
			pending bool
		)
		for i := range placed {
			switch k := &placed[i]; {
			case k.Alg != alg:
			case k.State == StateCurrent:
				cur = k
			case k.State == StateNext:
				pending = true
			}
		}
		switch {
		case cur == nil:
			return change{kind: createKey, alg: alg, activatesAt: now, reason: reasonInitial}, true
		case !pending && !now.Before(cur.ActivatesAt.Add(s.cfg.RotationPeriod-s.announce())):
			return change{kind: createKey, alg: alg, activatesAt: now.Add(s.announce()), reason: reasonScheduled}, true
		}
	}
	return change{}, false
}
