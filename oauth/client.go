package oauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"

	"github.com/identityd/identityd/clients"
)

// client is a registered client as fosite sees it.
type client struct {
	c          clients.Client
	secretHash []byte
	jwks       *jose.JSONWebKeySet
}

var (
	_ fosite.Client                         = (*client)(nil)
	_ fosite.OpenIDConnectClient            = (*client)(nil)
	_ fosite.ClientWithCustomTokenLifespans = (*client)(nil)
	_ fosite.ResponseModeClient             = (*client)(nil)
)

// newClient adapts c, whose secret's hash is secretHash (nil for a public client).
func newClient(c clients.Client, secretHash []byte) (*client, error) {
	fc := &client{c: c, secretHash: secretHash}
	if len(c.JWKS) > 0 {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal(c.JWKS, &set); err != nil {
			return nil, fmt.Errorf("oauth: client %s: stored JWKS: %w", c.ID, err)
		}
		fc.jwks = &set
	}
	return fc, nil
}

func (f *client) GetID() string                   { return f.c.ID }
func (f *client) GetHashedSecret() []byte         { return f.secretHash }
func (f *client) GetRedirectURIs() []string       { return f.c.RedirectURIs }
func (f *client) GetGrantTypes() fosite.Arguments { return f.c.GrantTypes }
func (f *client) GetScopes() fosite.Arguments     { return f.c.Scopes }
func (f *client) IsPublic() bool                  { return f.c.Public }
func (f *client) GetAudience() fosite.Arguments   { return f.c.Audience }

// GetResponseTypes allows the code flow to clients that may use it, and nothing else:
// identityd issues no tokens from the authorization endpoint (no implicit or hybrid flow).
func (f *client) GetResponseTypes() fosite.Arguments {
	if slices.Contains(f.c.GrantTypes, "authorization_code") {
		return fosite.Arguments{"code"}
	}
	return fosite.Arguments{}
}

// GetResponseModes allows the code in the redirect URI's query, the default for the code
// flow, and nothing else: form_post would need a self-submitting page with inline script,
// which identityd's Content-Security-Policy rightly forbids.
func (f *client) GetResponseModes() []fosite.ResponseModeType {
	return []fosite.ResponseModeType{fosite.ResponseModeDefault, fosite.ResponseModeQuery}
}

func (f *client) GetRequestURIs() []string                 { return nil }
func (f *client) GetJSONWebKeys() *jose.JSONWebKeySet      { return f.jwks }
func (f *client) GetJSONWebKeysURI() string                { return f.c.JWKSURI }
func (f *client) GetRequestObjectSigningAlgorithm() string { return "" }
func (f *client) GetTokenEndpointAuthMethod() string       { return f.c.TokenEndpointAuthMethod }

// GetTokenEndpointAuthSigningAlgorithm is the algorithm the client's assertions
// (private_key_jwt) must use, from its keys: fosite checks the header against it.
func (f *client) GetTokenEndpointAuthSigningAlgorithm() string {
	if f.jwks != nil {
		for _, k := range f.jwks.Keys {
			if k.Algorithm != "" {
				return k.Algorithm
			}
			if ec, ok := k.Key.(*ecdsa.PublicKey); ok {
				if ec.Curve.Params().BitSize == 384 {
					return string(jose.ES384)
				}
				return string(jose.ES256)
			}
		}
	}
	return string(jose.RS256)
}

// GetEffectiveLifespan applies the client's own token lifetimes, where it has them.
func (f *client) GetEffectiveLifespan(_ fosite.GrantType, tt fosite.TokenType, fallback time.Duration) time.Duration {
	var d time.Duration
	switch tt {
	case fosite.AccessToken:
		d = f.c.AccessTokenLifetime
	case fosite.RefreshToken:
		d = f.c.RefreshTokenLifetime
	case fosite.IDToken:
		d = f.c.IDTokenLifetime
	}
	if d > 0 {
		return d
	}
	return fallback
}

// secretHasher is how fosite checks client secrets: they are 256-bit random values
// identityd made, so a fast hash is the right one, compared in constant time.
type secretHasher struct{}

var errSecretMismatch = errors.New("oauth: client secret does not match")

func (secretHasher) Compare(_ context.Context, hash, data []byte) error {
	if !clients.SecretMatches(hash, data) {
		return errSecretMismatch
	}
	return nil
}

func (secretHasher) Hash(_ context.Context, data []byte) ([]byte, error) {
	sum := sha256.Sum256(data)
	return sum[:], nil
}
