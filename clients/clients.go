// Package clients is the registry of OAuth 2 / OpenID Connect clients: the apps that
// may send users to identityd to sign in and that obtain tokens from it. It knows what a
// client is and which registrations are safe; the protocol itself (package oauth) reads
// clients from here through Lookup and LookupWithSecretHash, and checks secrets with
// SecretMatches.
//
// A confidential client that authenticates with a secret (client_secret_basic or
// client_secret_post) gets one generated here: 256 random bits, shown once by Create or
// RotateSecret, stored only as its SHA-256. The secret is high-entropy, so a fast hash is
// as safe as a slow one and checking it costs microseconds (DESIGN.md, "Performance by
// design"). Public clients (native and single-page apps) have no secret and must use
// PKCE; private_key_jwt clients have no secret either and register public keys instead.
//
// Registrations are checked before anything is written, and every refused field is
// reported at once (ValidationError). Redirect URIs follow RFC 8252 for native apps and
// OAuth 2.1 for the rest: https anywhere, http only on loopback (or anywhere in dev
// mode), private-use schemes only for public clients, never a fragment.
//
// The token and authorize endpoints read clients on every request, so Lookup serves them
// from a cache. Every change made through a Service drops the client from that Service's
// cache before the call returns and, on PostgreSQL, notifies the other replicas in the
// change's transaction, so that their Listen drops it from theirs. Entries also expire,
// which bounds staleness where one was lost (CacheTTL) or none can arrive: on SQLite
// (SQLiteCacheTTL, a second), where a CLI may change the database beside the server.
//
// Every change records its audit event in its own transaction; events name the client
// and what changed, never a secret or a value of a changed field.
package clients

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// Token endpoint authentication methods (RFC 7591 §2, OpenID Connect Core §9).
const (
	AuthNone              = "none"
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
	AuthPrivateKeyJWT     = "private_key_jwt"
)

// Grant types a client may be registered for.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// Access token formats: a JWT that resource servers verify locally (RFC 9068), or an
// opaque handle they introspect.
const (
	FormatJWT    = "jwt"
	FormatOpaque = "opaque"
)

// The algorithms a client's ID tokens may be signed with (id_token_signed_response_alg).
const (
	AlgRS256 = "RS256"
	AlgES256 = "ES256"
)

// Client is a registered OAuth 2 / OpenID Connect client (an app): its id, the
// settings it was registered with, and what identityd keeps about it. It never holds its
// secret. It has no JSON form of its own: the management API's (seconds for lifetimes,
// where this type holds durations) is made from it at the edge.
type Client struct {
	// ID is the client_id, made by store.NewID.
	ID string
	Settings
	CreatedAt time.Time
	UpdatedAt time.Time
	// HasSecret says whether the client has a secret. A client that authenticates with a
	// secret has none after switching to such a method by Update, until RotateSecret
	// issues one; until then it cannot authenticate.
	HasSecret bool
	// SecretRotatedAt is when RotateSecret last replaced the secret; nil if it never did.
	SecretRotatedAt *time.Time
}

// Settings are what an operator registers a client with: what Create takes and Update
// changes. In Create, zero values take the defaults: the token endpoint authentication
// method is client_secret_basic for a confidential client and none for a public one,
// the access token format is jwt, the ID token algorithm RS256, and a lifetime of 0 is
// the server's.
type Settings struct {
	Name string
	// Public clients (native and single-page apps) have no secret, must use PKCE, and
	// authenticate with "none". Fixed at creation.
	Public bool
	// FirstParty marks the operator's own apps: users are not asked for consent.
	FirstParty             bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// GrantTypes are of authorization_code, refresh_token and client_credentials.
	GrantTypes []string
	// Scopes are the scopes the client may ask for: the known ones (openid, profile,
	// email, offline_access) and the operator's own (e.g. "invoices:read").
	Scopes []string
	// Audience are the identifiers of the resource servers the client may ask tokens for.
	Audience []string
	// TokenEndpointAuthMethod is one of the Auth constants.
	TokenEndpointAuthMethod string
	// JWKS is the client's public keys (a JWK Set) for private_key_jwt, or nil; JWKSURI
	// is where to fetch them instead (https). A private_key_jwt client has exactly one.
	JWKS    json.RawMessage
	JWKSURI string
	// AccessTokenFormat is FormatJWT or FormatOpaque.
	AccessTokenFormat string
	// Token lifetimes for this client, in whole seconds; 0 means the server-wide default.
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	IDTokenLifetime      time.Duration
	// IDTokenSignedResponseAlg is how the client's ID tokens (and back-channel logout
	// tokens) are signed: AlgRS256, the default OpenID Connect requires every client to
	// accept, or AlgES256 for a client that asks for it — a few percent of RS256's
	// signing cost.
	IDTokenSignedResponseAlg string
	// BackchannelLogoutURI is where OpenID Connect Back-Channel Logout tokens are
	// POSTed, or "".
	BackchannelLogoutURI string
	// IntrospectAnyToken lets this (resource server) client introspect tokens of any
	// audience, not just its own.
	IntrospectAnyToken bool
}

// usesSecret reports whether the client authenticates with a client secret.
func usesSecret(method string) bool {
	return method == AuthClientSecretBasic || method == AuthClientSecretPost
}

// clone is a deep copy, so that a caller changing a client it was given cannot change
// the copy in the cache that every request shares.
func (c Client) clone() Client {
	c.Settings = c.Settings.clone()
	if c.SecretRotatedAt != nil {
		t := *c.SecretRotatedAt
		c.SecretRotatedAt = &t
	}
	return c
}

// clone is a deep copy of s.
func (s Settings) clone() Settings {
	s.RedirectURIs = slices.Clone(s.RedirectURIs)
	s.PostLogoutRedirectURIs = slices.Clone(s.PostLogoutRedirectURIs)
	s.GrantTypes = slices.Clone(s.GrantTypes)
	s.Scopes = slices.Clone(s.Scopes)
	s.Audience = slices.Clone(s.Audience)
	s.JWKS = slices.Clone(s.JWKS)
	return s
}

// Errors callers tell apart. Each means nothing was changed.
var (
	// ErrNotFound means no client has the given id.
	ErrNotFound = errors.New("clients: no such client")
	// ErrInvalidSecret means a presented secret is not the client's, or the client has
	// no secret to present (public, private_key_jwt, or none issued yet).
	ErrInvalidSecret = errors.New("clients: invalid client secret")
	// ErrPublicClient means a secret was asked for a public client, which has none.
	ErrPublicClient = errors.New("clients: public clients have no secret")
	// ErrNoSecretAuth means a secret was asked for a confidential client that
	// authenticates with private_key_jwt; switch its method by Update first.
	ErrNoSecretAuth = errors.New("clients: the client authenticates with private_key_jwt, not a secret")
	// ErrBadCursor means a list cursor was not one List made.
	ErrBadCursor = store.ErrBadCursor
)

// Recorder records audit events in the transaction of the change they describe.
type Recorder interface {
	Record(ctx context.Context, tx *store.Tx, ev audit.Event) error
}

// Config holds the registration rules that depend on how identityd runs.
type Config struct {
	// Dev allows http redirect, logout and back-channel URIs on any host (identityd
	// --dev); outside dev, http is allowed only on loopback (127.0.0.1, [::1],
	// localhost), per RFC 8252.
	Dev bool
	// AllowPrivateNetworks lets back-channel logout URIs and jwks_uris point at
	// localhost and non-public addresses, as oauth_allow_private_networks lets identityd
	// call them. Off, such a URI is refused at registration: every call to it would be
	// refused.
	AllowPrivateNetworks bool
	// KnownScopes are the scopes identityd itself defines; nil means openid, profile,
	// email and offline_access. Clients may also use custom scopes matching
	// ^[a-z0-9][a-z0-9._:-]{0,63}$.
	KnownScopes []string
}

// defaultKnownScopes are the scopes identityd defines when Config.KnownScopes is nil.
var defaultKnownScopes = []string{"openid", "profile", "email", "offline_access"}

// Service manages clients. It is safe for concurrent use.
type Service struct {
	db    *store.DB
	audit Recorder
	now   func() time.Time
	dev   bool
	// allowPrivate is Config.AllowPrivateNetworks.
	allowPrivate bool
	known        map[string]bool
	cache        *cache
	ttl          time.Duration // of cache entries
}

// New returns a Service over db that records every change in rec; now is the clock
// (time.Now when nil), which also times the cache.
func New(db *store.DB, rec Recorder, now func() time.Time, cfg Config) *Service {
	if now == nil {
		now = time.Now
	}
	scopes := cfg.KnownScopes
	if scopes == nil {
		scopes = defaultKnownScopes
	}
	known := make(map[string]bool, len(scopes))
	for _, s := range scopes {
		known[s] = true
	}
	ttl := CacheTTL
	if db.Dialect() != store.Postgres {
		ttl = SQLiteCacheTTL
	}
	return &Service{db: db, audit: rec, now: now, dev: cfg.Dev, allowPrivate: cfg.AllowPrivateNetworks, known: known,
		cache: newCache(), ttl: ttl}
}

// stamp is the clock's time as the database keeps it: UTC, in microseconds.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
