package signingkeys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// Rotate replaces the signing key of alg by hand, audited, and returns the new key.
//
// Normally the new key is published now and signs after the same lead as a scheduled
// one, and the current key is retired then. If a next key is pending already, that key
// is the rotation: Rotate makes no other and returns it with ErrNextKeyPending. With no
// current key the new one signs at once.
//
// With immediately, for a key that is or may be compromised, the new key signs at once
// and every other key of alg — current, next and retired — is deleted in the same
// transaction: unpublished at once, so tokens they signed stop verifying, which is the
// point. Whatever exposed one key (the database with the keyring, or a process's
// memory) exposed the others of its algorithm alike. Relying parties that cached the
// JWKS meet the new kid before they know it, and must refetch the JWKS to verify.
func (s *Service) Rotate(ctx context.Context, alg Alg, immediately bool) (Key, error) {
	if err := s.checkAlg(alg); err != nil {
		return Key{}, fmt.Errorf("signingkeys: rotate: %w", err)
	}
	f, err := generate(alg)
	if err != nil {
		return Key{}, fmt.Errorf("signingkeys: rotate: %w", err)
	}
	var out Key
	err = s.change(ctx, func(tx *store.Tx, keys []Key, now time.Time) (bool, error) {
		placed, _ := place(keys, now, s.cfg.MaxTokenLifetime)
		var mine []Key
		for _, k := range placed {
			if k.Alg == alg {
				mine = append(mine, k)
			}
		}
		activatesAt, reason := now, reasonImmediate
		var replaced []string
		if immediately {
			for _, k := range mine {
				if err := remove(ctx, tx, k); err != nil {
					return false, err
				}
				if err := s.audit.Record(ctx, tx, audit.SigningKeyDeleted(k.ID, string(alg), reasonImmediate)); err != nil {
					return false, err
				}
				replaced = append(replaced, k.ID)
			}
		} else {
			reason = reasonRotation
			for _, k := range mine {
				switch k.State {
				case StateNext:
					out = k
					return false, ErrNextKeyPending
				case StateCurrent:
					activatesAt = now.Add(s.announce())
					replaced = append(replaced, k.ID)
				}
			}
		}
		if err := s.insert(ctx, tx, f, now, activatesAt); err != nil {
			return false, err
		}
		for _, ev := range []audit.Event{
			audit.SigningKeyCreated(f.id, string(alg), activatesAt, reason),
			audit.SigningKeyRotated(f.id, string(alg), immediately, activatesAt, replaced),
		} {
			if err := s.audit.Record(ctx, tx, ev); err != nil {
				return false, err
			}
		}
		out = Key{ID: f.id, Alg: alg, CreatedAt: now, ActivatesAt: activatesAt, State: StateCurrent, Public: f.signer.Public()}
		if activatesAt.After(now) {
			out.State = StateNext
		}
		return true, nil
	})
	if errors.Is(err, ErrNextKeyPending) {
		return out, fmt.Errorf("signingkeys: rotate: %w: %s signs from %s", err, out.ID, out.ActivatesAt.Format(time.RFC3339))
	}
	if err != nil {
		return Key{}, fmt.Errorf("signingkeys: rotate: %w", err)
	}
	if err := s.reload(ctx); err != nil {
		return out, fmt.Errorf("signingkeys: rotate: %s is stored, but reloading the keys failed: %w", out.ID, err)
	}
	return out, nil
}
