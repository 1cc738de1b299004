package server

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/outbound"
	"github.com/identityd/identityd/signingkeys"
)

// ClientsConfig is the client registration rules the configuration describes.
func ClientsConfig(cfg *config.Config) clients.Config {
	return clients.Config{Dev: cfg.Dev, AllowPrivateNetworks: cfg.OAuthAllowPrivateNetworks}
}

// SigningKeysConfig is the signing key schedule the configuration describes. Keys stay
// published until the longest-lived token they can have signed has expired: a client may
// set lifetimes up to the registry's maxima, beyond the server's defaults. Both
// algorithms are kept whichever signs access tokens: ID tokens are RS256 unless a client
// registered for ES256 ones.
func SigningKeysConfig(cfg *config.Config) signingkeys.Config {
	return signingkeys.Config{
		Algs:           []signingkeys.Alg{signingkeys.RS256, signingkeys.ES256},
		RotationPeriod: cfg.SigningKeyRotation,
		PublishLead:    cfg.SigningKeyPublishLead,
		MaxTokenLifetime: max(cfg.OAuthAccessTokenLifetime, cfg.OAuthIDTokenLifetime,
			clients.MaxAccessLifetime, clients.MaxIDTokenLifetime),
	}
}

// newClientsAndKeys builds the client registry and the signing keys, making the first
// keys if there are none (once the schema is current). Both keep caches that other
// replicas' changes must reach: their listeners run while the server serves.
func (s *Server) newClientsAndKeys(ctx context.Context, cfg *config.Config,
	schemaCurrent bool) (*clients.Service, *signingkeys.Service, error) {
	registry := clients.New(s.db, s.audit, time.Now, ClientsConfig(cfg))
	keys, err := signingkeys.New(s.db, s.kr, s.audit, time.Now, SigningKeysConfig(cfg))
	if err != nil {
		return nil, nil, fmt.Errorf("server: signing keys: %w", err)
	}
	if schemaCurrent {
		if err := keys.Maintain(ctx); err != nil {
			return nil, nil, fmt.Errorf("server: signing keys: %w", err)
		}
	}
	s.background = append(s.background,
		func(ctx context.Context) { registry.Listen(ctx, s.log.With(slog.String("component", "clients"))) },
		func(ctx context.Context) { keys.Listen(ctx, s.log.With(slog.String("component", "signingkeys"))) })
	return registry, keys, nil
}

// OAuthConfig is the provider's settings the configuration describes.
func OAuthConfig(cfg *config.Config) oauth.Config {
	return oauth.Config{
		Issuer:               cfg.Issuer,
		AccessTokenLifetime:  cfg.OAuthAccessTokenLifetime,
		RefreshTokenLifetime: cfg.OAuthRefreshTokenLifetime,
		IDTokenLifetime:      cfg.OAuthIDTokenLifetime,
		CodeLifetime:         cfg.OAuthCodeLifetime,
		AccessTokenAlg:       signingkeys.Alg(cfg.OAuthAccessTokenAlg),
		RequirePKCE:          cfg.OAuthRequirePKCE,
		RefreshGrace:         cfg.OAuthRefreshGrace,
		RefreshGraceUses:     cfg.OAuthRefreshGraceUses,
		JWKSMaxAge:           cfg.SigningKeyPublishLead,
	}
}

// newProvider builds the OAuth 2 / OpenID Connect provider, which revokes a user's tokens
// with every account change that revokes their sessions, and registers its jobs: logout
// tokens on a queue of their own (apps' servers may be slow), and the cleanup.
func (s *Server) newProvider(ctx context.Context, cfg *config.Config, d oauth.Deps, workers *river.Workers,
	queues map[string]int, schemaCurrent bool) (*oauth.Provider, error) {
	d.DB, d.Keyring, d.Audit = s.db, s.kr, s.audit
	d.HTTPClient = outbound.NewClient(outbound.Config{Timeout: 10 * time.Second, AllowPrivateNetworks: cfg.OAuthAllowPrivateNetworks})
	d.Logger = s.log.With(slog.String("component", "oauth"))
	p, err := oauth.New(d, OAuthConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if schemaCurrent {
		if err := p.Load(ctx); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	d.Users.AddRevoker(p)
	river.AddWorker(workers, oauth.NewLogoutWorker(p))
	queues[oauth.LogoutQueue] = cfg.JobsMaxWorkers
	s.background = append(s.background, p.Listen)
	return p, nil
}
