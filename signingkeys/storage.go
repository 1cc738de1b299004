package signingkeys

import (
	"context"
	"fmt"
	"time"

	"github.com/identityd/identityd/store"
)

// lockKey is the PostgreSQL advisory lock that every change of signing keys holds, so
// that replicas maintaining or rotating at once make one change, not one each: "idd-sgky"
// in ASCII. On SQLite the transaction itself excludes every other writer.
const lockKey = 0x6964642d73676b79

// notifyChannel is the PostgreSQL channel on which every change of signing keys is
// announced, at its commit, to every replica's Listen.
const notifyChannel = "identityd_signing_keys"

// row is a stored signing key.
type row struct {
	id                     string
	alg                    Alg
	privateEnc             []byte
	publicJWK              string
	createdAt, activatesAt time.Time
	retiredAt, unpublishAt *time.Time
}

// readRows reads every stored key: there are a handful.
func readRows(ctx context.Context, q store.Queryer) ([]row, error) {
	rows, err := q.Query(ctx, `SELECT kid, alg, private_enc, public_jwk, created_at, activates_at, retired_at, unpublish_at
		FROM signing_keys`)
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	out, err := store.CollectRows(rows, func(r *store.Rows) (row, error) {
		var (
			k   row
			alg string
		)
		err := r.Scan(&k.id, &alg, &k.privateEnc, &k.publicJWK, &k.createdAt, &k.activatesAt, &k.retiredAt, &k.unpublishAt)
		k.alg = Alg(alg)
		return k, err
	})
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	return out, nil
}

// schedule is r as a Key with its stored times, without state, public or private key.
func (r row) schedule() Key {
	return Key{ID: r.id, Alg: r.alg, CreatedAt: r.createdAt, ActivatesAt: r.activatesAt,
		RetiredAt: r.retiredAt, UnpublishAt: r.unpublishAt}
}

// describe returns the stored keys with their public keys as stored, for reading
// without the keyring: no private key is opened.
func describe(rows []row) ([]Key, error) {
	keys := make([]Key, 0, len(rows))
	for _, r := range rows {
		jwk, err := parseJWK(r)
		if err != nil {
			return nil, err
		}
		k := r.schedule()
		k.Public = jwk.Key
		keys = append(keys, k)
	}
	return keys, nil
}

// change runs fn in a transaction that holds the signing keys' lock, with the keys as
// stored and the time. When fn reports a change, every replica is told at commit.
func (s *Service) change(ctx context.Context, fn func(tx *store.Tx, keys []Key, now time.Time) (bool, error)) error {
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		pg := tx.Dialect() == store.Postgres
		if pg {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(lockKey)); err != nil {
				return fmt.Errorf("lock keys: %w", err)
			}
		}
		rows, err := readRows(ctx, tx)
		if err != nil {
			return err
		}
		keys, err := describe(rows)
		if err != nil {
			return err
		}
		// The time is read under the lock, so that a change waiting for another sees
		// the world after it.
		changed, err := fn(tx, keys, s.clock())
		if err == nil && changed && pg {
			// Sent with the COMMIT, and delivered only if it commits.
			tx.ExecAtCommit(`SELECT pg_notify($1, '')`, notifyChannel)
		}
		return err
	})
}

// insert stores the new key f, published from now and signing from activatesAt.
func (s *Service) insert(ctx context.Context, tx *store.Tx, f *fresh, now, activatesAt time.Time) error {
	enc, err := s.seal(f)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO signing_keys (kid, alg, private_enc, public_jwk, created_at, activates_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, f.id, string(f.alg), enc, string(f.jwk), now, activatesAt)
	if err != nil {
		return fmt.Errorf("store key %s: %w", f.id, err)
	}
	return nil
}

// remove deletes the key k.
func remove(ctx context.Context, tx *store.Tx, k Key) error {
	if _, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE kid = $1`, k.ID); err != nil {
		return fmt.Errorf("delete key %s: %w", k.ID, err)
	}
	return nil
}
