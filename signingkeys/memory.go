package signingkeys

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v3"
)

// keySet is the keys as last loaded: their stored times, public keys and, for keys not
// marked retired, private keys; and each key's published form.
type keySet struct {
	keys      []Key
	published map[string]publicForm
	// stamp is a digest of the rows the set was loaded from: a reload that reads the
	// same rows has nothing to open.
	stamp [sha256.Size]byte
}

// view is a keySet placed at a moment, what Signing, Verification and JWKS answer
// from. It holds until the placement changes; then the first caller to notice places
// the same keys anew, without the database.
type view struct {
	set   *keySet
	until time.Time // zero: the placement never changes
	// signing is the current key of each algorithm; byID every published key.
	signing map[Alg]*Key
	byID    map[string]*Key
	jwks    []jose.JSONWebKey
	// jwksJSON is jwks encoded, its capacity cut to its length so that a caller's
	// append cannot write into it.
	jwksJSON []byte
}

// newView places set at now.
func newView(set *keySet, now time.Time, maxTokenLifetime time.Duration) *view {
	placed, until := place(set.keys, now, maxTokenLifetime)
	v := &view{set: set, until: until, signing: make(map[Alg]*Key), byID: make(map[string]*Key, len(placed))}
	var parts [][]byte
	for i := range placed {
		k := &placed[i]
		if !published(*k, now) {
			continue
		}
		v.byID[k.ID] = k
		if k.State == StateCurrent {
			v.signing[k.Alg] = k
		}
		pub := set.published[k.ID]
		v.jwks = append(v.jwks, pub.jwk)
		parts = append(parts, pub.text)
	}
	// The set's encoding is its keys' encodings in a "keys" array, which is what
	// encoding/json would make of a jose.JSONWebKeySet, without a second encoding.
	doc := slices.Concat([]byte(`{"keys":[`), bytes.Join(parts, []byte(",")), []byte(`]}`))
	v.jwksJSON = doc[:len(doc):len(doc)]
	return v
}

// current returns the view that holds now, placing the keys anew if the last view has
// run out; nil before the first load.
func (s *Service) current() *view {
	for {
		v := s.view.Load()
		if v == nil {
			return nil
		}
		now := s.now()
		if v.until.IsZero() || now.Before(v.until) {
			return v
		}
		nv := newView(v.set, now, s.cfg.MaxTokenLifetime)
		// If a reload stored a newer view meanwhile, this one is stale: start again.
		if s.view.CompareAndSwap(v, nv) {
			return nv
		}
	}
}

// Signing returns the key that signs for alg now and its private key, from memory: it
// never touches the database. When a next key's activation time passes, it returns that
// key without waiting for a reload. It fails with ErrNoSigningKey if there is none
// (Load has not run, or Maintain never made one). The Key is shared: do not modify it.
func (s *Service) Signing(alg Alg) (*Key, crypto.Signer, error) {
	if v := s.current(); v != nil {
		if k := v.signing[alg]; k != nil {
			return k, k.signer, nil
		}
	}
	return nil, nil, fmt.Errorf("%w for %s", ErrNoSigningKey, alg)
}

// Verification returns the published key with the given kid — current, next, or
// retired but still published — from memory, or ErrUnknownKey. The Key is shared: do
// not modify it.
func (s *Service) Verification(kid string) (*Key, error) {
	if v := s.current(); v != nil {
		if k := v.byID[kid]; k != nil {
			return k, nil
		}
	}
	// Bare, without the kid: it comes from a presented token, and this path must stay
	// cheap for those who present junk.
	return nil, ErrUnknownKey
}

// JWKS returns the keys published now, with kid, alg and use "sig" and no private part,
// and their JSON encoding, which is made once each time the set changes. The encoding is
// shared by every caller: write it out, do not modify it.
func (s *Service) JWKS() (jose.JSONWebKeySet, []byte) {
	v := s.current()
	if v == nil {
		return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}, []byte(`{"keys":[]}`)
	}
	// A copy, never nil: a caller that encodes the set gets "keys":[] for none.
	return jose.JSONWebKeySet{Keys: append([]jose.JSONWebKey{}, v.jwks...)}, v.jwksJSON
}

// Load reads the keys into memory, opening and checking each one; call it at start,
// after migrations. It creates no keys (Maintain does). It fails if any stored key does
// not open with the keyring or does not match its kid: such a key was not written by
// identityd and must not be published.
func (s *Service) Load(ctx context.Context) error {
	if err := s.reload(ctx); err != nil {
		return fmt.Errorf("signingkeys: load: %w", err)
	}
	return nil
}

// reload reads every stored key and, unless the rows are those already in memory,
// opens them and makes them the keys in memory. Unchanged rows cost one small query,
// so a server that cannot be told of changes (SQLite) can afford to look often.
func (s *Service) reload(ctx context.Context) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	rows, err := readRows(ctx, s.db)
	if err != nil {
		return err
	}
	stamp := stampOf(rows)
	if v := s.view.Load(); v != nil && v.set.stamp == stamp {
		return nil
	}
	set := &keySet{keys: make([]Key, 0, len(rows)), published: make(map[string]publicForm, len(rows)), stamp: stamp}
	var problems []error
	for _, r := range rows {
		o, err := s.open(r)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		k := r.schedule()
		k.Public = o.public.jwk.Key
		if r.retiredAt == nil {
			// A key marked retired never signs again: its private key need not stay in
			// memory.
			k.signer = o.signer
		}
		set.keys = append(set.keys, k)
		set.published[k.ID] = o.public
	}
	if len(problems) > 0 {
		return errors.Join(problems...)
	}
	s.view.Store(newView(set, s.now(), s.cfg.MaxTokenLifetime))
	return nil
}

// stampOf digests rows, every column of each, in kid order.
func stampOf(rows []row) [sha256.Size]byte {
	sorted := slices.SortedFunc(slices.Values(rows), func(a, b row) int { return strings.Compare(a.id, b.id) })
	h := sha256.New()
	var buf []byte
	field := func(b []byte) {
		buf = binary.AppendUvarint(buf[:0], uint64(len(b)))
		h.Write(buf)
		h.Write(b)
	}
	at := func(t *time.Time) {
		if t == nil {
			field(nil)
			return
		}
		field(binary.AppendVarint(nil, t.UnixNano()))
	}
	for _, r := range sorted {
		field([]byte(r.id))
		field([]byte(r.alg))
		field(r.privateEnc)
		field([]byte(r.publicJWK))
		at(&r.createdAt)
		at(&r.activatesAt)
		at(r.retiredAt)
		at(r.unpublishAt)
	}
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}
