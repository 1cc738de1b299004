package oauth

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/identityd/identityd/clients"
)

// discovery serves the provider's metadata, at /.well-known/openid-configuration
// (OpenID Connect Discovery 1.0) and /.well-known/oauth-authorization-server (RFC 8414):
// the same document, which both specifications allow, encoded once by New.
func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_, _ = w.Write(p.discoveryJSON) // a write error means the client left
}

// discoveryDocument is the provider's metadata for issuer iss.
func discoveryDocument(iss string) ([]byte, error) {
	authMethods := []string{clients.AuthClientSecretBasic, clients.AuthClientSecretPost, clients.AuthPrivateKeyJWT, clients.AuthNone}
	assertionAlgs := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}
	doc := map[string]any{
		"issuer":                                                   iss,
		"authorization_endpoint":                                   iss + AuthorizePath,
		"token_endpoint":                                           iss + TokenPath,
		"userinfo_endpoint":                                        iss + UserinfoPath,
		"jwks_uri":                                                 iss + JWKSPath,
		"introspection_endpoint":                                   iss + IntrospectPath,
		"revocation_endpoint":                                      iss + RevokePath,
		"end_session_endpoint":                                     iss + EndSessionPath,
		"pushed_authorization_request_endpoint":                    iss + PushedAuthorizePath,
		"require_pushed_authorization_requests":                    false,
		"scopes_supported":                                         []string{"openid", "profile", "email", "offline_access"},
		"response_types_supported":                                 []string{"code"},
		"response_modes_supported":                                 []string{"query"},
		"grant_types_supported":                                    []string{clients.GrantAuthorizationCode, clients.GrantRefreshToken, clients.GrantClientCredentials},
		"subject_types_supported":                                  []string{"public"},
		"id_token_signing_alg_values_supported":                    []string{clients.AlgRS256, clients.AlgES256},
		"userinfo_signing_alg_values_supported":                    []string{"none"},
		"token_endpoint_auth_methods_supported":                    authMethods,
		"token_endpoint_auth_signing_alg_values_supported":         assertionAlgs,
		"introspection_endpoint_auth_methods_supported":            authMethods[:3],
		"introspection_endpoint_auth_signing_alg_values_supported": assertionAlgs,
		"revocation_endpoint_auth_methods_supported":               authMethods,
		"revocation_endpoint_auth_signing_alg_values_supported":    assertionAlgs,
		"code_challenge_methods_supported":                         []string{"S256"},
		"prompt_values_supported":                                  []string{"none", "login", "consent"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid",
			"at_hash", "name", "preferred_username", "updated_at", "email", "email_verified"},
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"backchannel_logout_supported":                   true,
		"backchannel_logout_session_supported":           true,
		"frontchannel_logout_supported":                  false,
		"authorization_response_iss_parameter_supported": true,
	}
	return json.Marshal(doc)
}

// jwks serves the published signing keys (RFC 7517): the current key of each
// algorithm, the next one before it signs, and retired ones while tokens they signed
// live. Relying parties may cache it for the publication lead of a new key.
func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	_, body := p.d.Keys.JWKS()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(p.cfg.JWKSMaxAge.Seconds())))
	_, _ = w.Write(body) // a write error means the client left
}
