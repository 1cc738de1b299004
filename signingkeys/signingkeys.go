// Package signingkeys generates, stores, publishes and rotates the keys that sign
// identityd's tokens: access tokens (ES256 by default, RS256 selectable) and ID tokens
// (RS256, which OpenID Connect requires every provider to support).
//
// # Lifecycle
//
// For each algorithm one key is current: it signs. Rotation creates a next key, which is
// published in the JWKS at once but starts signing only PublishLead (plus ReloadEvery,
// see below) later, so that every relying party that refreshes its cached JWKS knows the
// key before it meets a token signed with it. When the next key activates, the one
// before it is retired: it signs nothing more, but stays published until every token it
// signed has expired (MaxTokenLifetime after its retirement), and is deleted then.
// Maintain, run by a periodic job, does all of this on the RotationPeriod schedule;
// Rotate does it by hand, and with immediately replaces a compromised key at once.
//
// A key's id (kid) is its RFC 7638 JWK thumbprint: stable, and derived from the key
// itself. Private keys are stored as PKCS #8 encrypted by the keyring, bound to their
// kid, and every stored key is opened and checked against its kid when it is loaded:
// a row written by someone without the keyring is refused, never published.
//
// # Replicas
//
// Signing happens on every request that issues a token, so it never touches the
// database: each process keeps the keys in memory. It reloads them when another replica
// changes them (PostgreSQL NOTIFY, sent in the transaction of every change), every
// ReloadEvery as a safety net, and switches to a next key by itself when that key's
// activation time passes, which it knows from memory.
package signingkeys

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/store"
)

// Alg is a JWS signature algorithm (RFC 7518) that identityd signs tokens with.
type Alg string

// The algorithms identityd keeps keys for.
const (
	// ES256 is ECDSA on P-256 with SHA-256: small, fast signatures; the default for
	// access tokens.
	ES256 Alg = "ES256"
	// RS256 is RSASSA-PKCS1-v1_5 with SHA-256 over a 2048-bit key, which OpenID Connect
	// requires for ID tokens.
	RS256 Alg = "RS256"
)

// known reports whether identityd can make keys for a.
func (a Alg) known() bool { return a == ES256 || a == RS256 }

// A key's State, as of the moment it was read.
const (
	// StateNext is a key that is published but does not sign yet.
	StateNext = "next"
	// StateCurrent is the key that signs for its algorithm.
	StateCurrent = "current"
	// StateRetired is a key that a later one replaced: it signs nothing more, and is
	// published until UnpublishAt.
	StateRetired = "retired"
)

var (
	// ErrUnknownKey means no published key has the kid asked for: it never existed, or
	// it has been unpublished and every token it signed is void.
	ErrUnknownKey = errors.New("signingkeys: unknown key")
	// ErrNoSigningKey means there is no key to sign with for an algorithm: Load has not
	// run, or Maintain never created one.
	ErrNoSigningKey = errors.New("signingkeys: no signing key")
	// ErrNextKeyPending means a rotation was asked for while a next key already waits to
	// activate: that key is the rotation, and no other was made.
	ErrNextKeyPending = errors.New("signingkeys: a next key is already pending")
	// ErrUnsupportedAlg means an algorithm is not one this service keeps keys for.
	ErrUnsupportedAlg = errors.New("signingkeys: unsupported algorithm")
)

// Key describes a signing key. Keys that Signing and Verification return are shared
// by every caller and must not be modified.
type Key struct {
	// ID is the kid: the RFC 7638 thumbprint (SHA-256, base64url) of the public key.
	ID  string
	Alg Alg
	// CreatedAt is when the key was made, and published from.
	CreatedAt time.Time
	// ActivatesAt is when the key starts signing.
	ActivatesAt time.Time
	// RetiredAt is when a later key replaced it, and UnpublishAt when it leaves the
	// JWKS; both nil until then.
	RetiredAt, UnpublishAt *time.Time
	// State is StateNext, StateCurrent or StateRetired, as of when the key was read.
	State string
	// Public is the public key: *ecdsa.PublicKey for ES256, *rsa.PublicKey for RS256.
	Public crypto.PublicKey

	signer crypto.Signer
}

// Signer returns the private key to sign with if k is the current key, and nil for any
// other key and for keys from List and Rotate. Its dynamic type is *ecdsa.PrivateKey or
// *rsa.PrivateKey, which JOSE libraries (go-jose, so fosite) need to sign.
func (k Key) Signer() crypto.Signer {
	if k.State != StateCurrent {
		return nil
	}
	return k.signer
}

// Recorder records audit events in the transaction of the change they describe.
type Recorder interface {
	Record(ctx context.Context, tx *store.Tx, ev audit.Event) error
}

// Service keeps the signing keys: in the database, where Maintain and Rotate change
// them, and in memory, where Signing, Verification and JWKS read them. It is safe for
// concurrent use.
type Service struct {
	db    *store.DB
	kr    *keyring.Keyring
	audit Recorder
	now   func() time.Time
	cfg   Config

	// reloadMu makes reloads one at a time, so that a slow reload that read the keys
	// earlier never replaces the result of one that read them later.
	reloadMu sync.Mutex
	// view is what the hot paths read: the keys as last loaded, placed at a moment.
	view atomic.Pointer[view]
}

// New returns a Service over db that encrypts private keys with kr and records every
// change in rec; now is the clock (time.Now when nil). Zero fields of cfg take their
// defaults (DefaultConfig); a configuration that makes no sense is refused with every
// problem named. Call Load before serving.
func New(db *store.DB, kr *keyring.Keyring, rec Recorder, now func() time.Time, cfg Config) (*Service, error) {
	if db == nil || kr == nil || rec == nil {
		return nil, errors.New("signingkeys: new: a database, a keyring and an audit recorder are required")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	cfg = cfg.withDefaults()
	cfg.Algs = slices.Clone(cfg.Algs)
	return &Service{db: db, kr: kr, audit: rec, now: now, cfg: cfg}, nil
}

// clock is the current time as stored: UTC, to the microsecond both backends keep.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// announce is how long a new key is published before it signs. PublishLead is what
// relying parties cache the JWKS for; ReloadEvery is added because a replica that missed
// the change's notification serves the new key only from its next reload, and a relying
// party may have just cached that replica's older JWKS.
func (s *Service) announce() time.Duration { return s.cfg.PublishLead + s.cfg.ReloadEvery }

// configured reports whether alg is one of the algorithms the service keeps keys for.
func (s *Service) configured(alg Alg) bool { return slices.Contains(s.cfg.Algs, alg) }

// checkAlg refuses an algorithm the service does not keep keys for.
func (s *Service) checkAlg(alg Alg) error {
	if !s.configured(alg) {
		return fmt.Errorf("%w: %q (configured: %v)", ErrUnsupportedAlg, alg, s.cfg.Algs)
	}
	return nil
}
