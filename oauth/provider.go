// Package oauth is identityd's OAuth 2 and OpenID Connect provider, on fosite: the
// authorization, token, userinfo, JWKS, introspection, revocation, end-session and
// pushed-authorization endpoints, discovery, consent, and logout towards the apps.
//
// fosite does the protocol — request validation, PKCE, the grants, refresh token rotation
// with reuse detection, ID tokens — over this package's storage (codes and tokens kept
// only as SHA-256 of their handles) and token strategy (RFC 9068 JWT access tokens signed
// with the rotating keys of package signingkeys, or opaque ones per client). What fosite
// lacks is here: revocable JWT access tokens (a revocation list by token, grant, user and
// consent, held in memory on every replica), a grace period for concurrent refreshes,
// introspection that checks a JWT without reading a token row, and back-channel logout.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/riverqueue/river"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/par"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/token/hmac"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
)

// parLifetime is how long a pushed authorization request's request_uri is good for
// (RFC 9126 suggests a short one).
const parLifetime = 90 * time.Second

// Config is the provider's settings.
type Config struct {
	// Issuer is identityd's issuer URL, without a trailing slash.
	Issuer string
	// AccessTokenLifetime, RefreshTokenLifetime, IDTokenLifetime and CodeLifetime are the
	// defaults; a client may set its own.
	AccessTokenLifetime  time.Duration
	RefreshTokenLifetime time.Duration
	IDTokenLifetime      time.Duration
	CodeLifetime         time.Duration
	// AccessTokenAlg signs JWT access tokens: ES256 (default) or RS256.
	AccessTokenAlg signingkeys.Alg
	// RequirePKCE requires PKCE of every client; public clients always need it.
	RequirePKCE bool
	// RefreshGrace lets a just-rotated refresh token be used again for this long, at most
	// RefreshGraceUses times; zero turns the grace off.
	RefreshGrace     time.Duration
	RefreshGraceUses int
	// JWKSMaxAge is how long relying parties may cache the JWKS: the signing keys'
	// publication lead, which makes that safe.
	JWKSMaxAge time.Duration
}

// Pages shows identityd's error page, for requests that cannot be answered to a client:
// an authorization whose redirect URI cannot be trusted, a logout that names no app.
type Pages interface {
	Fail(w http.ResponseWriter, r *http.Request, status int, message string)
}

// Enqueuer adds a job in a transaction; *jobs.Queue is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// Deps are the parts the provider works with.
type Deps struct {
	DB       *store.DB
	Keyring  *keyring.Keyring
	Clients  *clients.Service
	Keys     *signingkeys.Service
	Users    *users.Service
	Sessions *sessions.Service
	Audit    *audit.Log
	Pages    Pages
	// Jobs carries back-channel logout tokens to the apps.
	Jobs Enqueuer
	// HTTPClient fetches clients' key sets (jwks_uri) and delivers back-channel logout
	// tokens; it should refuse private addresses (package outbound).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Provider is the OAuth 2 and OpenID Connect provider.
type Provider struct {
	cfg         Config
	d           Deps
	fosite      *fosite.Fosite
	fcfg        *fosite.Config
	storage     *Storage
	strategy    *tokenStrategy
	revocations *revocations
	// revoker is fosite's revocation of refresh and opaque access tokens, called after
	// the endpoint has authenticated the client itself.
	revoker *oauth2.TokenRevocationHandler
	// byGrant are fosites for the token endpoint, one per grant type.
	byGrant map[string]*fosite.Fosite
	// discoveryJSON is the metadata document, which changes only with the issuer.
	discoveryJSON []byte
}

// New builds the provider.
func New(d Deps, cfg Config) (*Provider, error) {
	if d.DB == nil || d.Keyring == nil || d.Clients == nil || d.Keys == nil || d.Users == nil || d.Sessions == nil ||
		d.Audit == nil || d.Pages == nil || d.Jobs == nil || d.HTTPClient == nil {
		return nil, errors.New("oauth: new: DB, Keyring, Clients, Keys, Users, Sessions, Audit, Pages, Jobs and HTTPClient are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.AccessTokenAlg == "" {
		cfg.AccessTokenAlg = signingkeys.ES256
	}
	if cfg.AccessTokenLifetime <= 0 || cfg.RefreshTokenLifetime <= 0 || cfg.IDTokenLifetime <= 0 || cfg.CodeLifetime <= 0 {
		return nil, errors.New("oauth: new: token lifetimes must be positive")
	}
	_, secret, err := d.Keyring.Derive("oauth.hmac", 32)
	if err != nil {
		return nil, fmt.Errorf("oauth: new: %w", err)
	}
	// Older keys' secrets still check tokens made before a rotation of the encryption
	// keys.
	var rotated [][]byte
	for _, id := range d.Keyring.KeyIDs()[1:] {
		old, err := d.Keyring.DeriveFrom(id, "oauth.hmac", 32)
		if err != nil {
			return nil, fmt.Errorf("oauth: new: %w", err)
		}
		rotated = append(rotated, old)
	}
	fc := &fosite.Config{
		AccessTokenLifespan:             cfg.AccessTokenLifetime,
		RefreshTokenLifespan:            cfg.RefreshTokenLifetime,
		IDTokenLifespan:                 cfg.IDTokenLifetime,
		AuthorizeCodeLifespan:           cfg.CodeLifetime,
		IDTokenIssuer:                   cfg.Issuer,
		AccessTokenIssuer:               cfg.Issuer,
		TokenURL:                        cfg.Issuer + TokenPath,
		ScopeStrategy:                   fosite.ExactScopeStrategy,
		AudienceMatchingStrategy:        fosite.ExactAudienceMatchingStrategy,
		EnforcePKCE:                     cfg.RequirePKCE,
		EnforcePKCEForPublicClients:     true,
		EnablePKCEPlainChallengeMethod:  false,
		RefreshTokenScopes:              []string{"offline_access"},
		MinParameterEntropy:             8,
		SendDebugMessagesToClients:      false,
		ClientSecretsHasher:             secretHasher{},
		GlobalSecret:                    secret,
		RotatedGlobalSecrets:            rotated,
		TokenEntropy:                    32,
		PushedAuthorizeRequestURIPrefix: "urn:ietf:params:oauth:request_uri:",
		PushedAuthorizeContextLifespan:  parLifetime,
		AllowedPromptValues:             []string{"login", "none", "consent"},
		JWKSFetcherStrategy:             newKeySetFetcher(d.HTTPClient, d.Now),
	}
	revs := newRevocations(d.DB, d.Now, cfg.AccessTokenLifetime+time.Hour)
	st := &Storage{db: d.DB, clients: d.Clients, revocations: revs, audit: d.Audit, batch: audit.NewBatcher(d.Audit), now: d.Now,
		refreshGrace: cfg.RefreshGrace, refreshGraceUses: cfg.RefreshGraceUses}
	ts := &tokenStrategy{hmac: oauth2.NewHMACSHAStrategyUnPrefixed(&hmac.HMACStrategy{Config: fc}, fc),
		keys: d.Keys, alg: cfg.AccessTokenAlg, issuer: cfg.Issuer, now: d.Now}
	ids := idTokenSigner{t: ts, clients: d.Clients}
	idStrategy := &openid.DefaultStrategy{Signer: ids, Config: fc}
	validator := openid.NewOpenIDConnectRequestValidator(ids, fc)

	// The handlers, built with their types rather than through fosite's compose
	// factories, which wire everything through interface{} and assert types at run time.
	codeGrant := &oauth2.AuthorizeExplicitGrantHandler{
		AccessTokenStrategy: ts, RefreshTokenStrategy: ts, AuthorizeCodeStrategy: ts,
		CoreStorage: st, TokenRevocationStorage: st, Config: fc,
	}
	fc.AuthorizeEndpointHandlers.Append(codeGrant)
	explicit := &openid.OpenIDConnectExplicitHandler{
		OpenIDConnectRequestStorage:   st,
		IDTokenHandleHelper:           &openid.IDTokenHandleHelper{IDTokenStrategy: idStrategy},
		OpenIDConnectRequestValidator: validator,
		Config:                        fc,
	}
	fc.AuthorizeEndpointHandlers.Append(explicit)
	pkceHandler := &pkce.Handler{AuthorizeCodeStrategy: ts, Storage: st, Config: fc}
	fc.AuthorizeEndpointHandlers.Append(pkceHandler)

	refreshGrant := &oauth2.RefreshTokenGrantHandler{
		AccessTokenStrategy: ts, RefreshTokenStrategy: ts, TokenRevocationStorage: st, Config: fc,
	}
	oidcRefresh := &openid.OpenIDConnectRefreshHandler{
		IDTokenHandleHelper: &openid.IDTokenHandleHelper{IDTokenStrategy: idStrategy}, Config: fc,
	}
	clientCredentials := &oauth2.ClientCredentialsGrantHandler{
		HandleHelper: &oauth2.HandleHelper{AccessTokenStrategy: ts, AccessTokenStorage: st, Config: fc}, Config: fc,
	}
	// Each grant type gets a fosite of its own with just its handlers: fosite asks every
	// handler of a request whether it applies, and each that does not answers with an
	// error carrying a stack trace, which costs more than the rest of a token.
	grants := map[string]fosite.TokenEndpointHandlers{
		"authorization_code": {codeGrant, explicit, pkceHandler},
		"refresh_token":      {refreshGrant, oidcRefresh},
		"client_credentials": {clientCredentials},
	}
	byGrant := map[string]*fosite.Fosite{}
	for grant, handlers := range grants {
		gc := *fc
		gc.TokenEndpointHandlers = handlers
		byGrant[grant] = fosite.NewOAuth2Provider(st, &gc)
	}
	// The provider's own fosite knows every grant, for requests naming none of them.
	fc.TokenEndpointHandlers = fosite.TokenEndpointHandlers{codeGrant, clientCredentials, refreshGrant, explicit, oidcRefresh, pkceHandler}

	fc.TokenIntrospectionHandlers.Append(&oauth2.CoreValidator{CoreStrategy: ts, CoreStorage: st, Config: fc})
	revoker := &oauth2.TokenRevocationHandler{TokenRevocationStorage: st, AccessTokenStrategy: ts, RefreshTokenStrategy: ts}
	fc.RevocationHandlers.Append(revoker)
	fc.PushedAuthorizeEndpointHandlers.Append(&par.PushedAuthorizeHandler{Storage: st, Config: fc})

	doc, err := discoveryDocument(cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oauth: discovery document: %w", err)
	}
	p := &Provider{cfg: cfg, d: d, fosite: fosite.NewOAuth2Provider(st, fc), fcfg: fc, storage: st, strategy: ts,
		revocations: revs, revoker: revoker, byGrant: byGrant, discoveryJSON: doc}
	d.Sessions.OnEnd(p.sessionsEnded)
	return p, nil
}

// Load reads the revocation list; call it before serving.
func (p *Provider) Load(ctx context.Context) error {
	if err := p.revocations.load(ctx); err != nil {
		return fmt.Errorf("oauth: load revocations: %w", err)
	}
	return nil
}

// Listen keeps the revocation list current until ctx ends: on PostgreSQL it hears every
// revocation other replicas commit as they commit it, and everywhere it rereads the list
// every half minute, which also bounds what a revocation made beside the server (by the
// CLI on SQLite) takes to arrive.
func (p *Provider) Listen(ctx context.Context) {
	p.revocations.run(ctx, p.d.Logger)
}
