package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/identityd/identityd/clients"
)

// Client is how the API shows an OAuth 2 / OpenID Connect client; it never carries the
// secret. Token lifetimes are whole seconds.
type Client struct {
	ID                      string          `json:"client_id" example:"c7m2k9x4b8n1p3v5" doc:"The client_id the app presents (OAuth 2)."`
	Name                    string          `json:"name" example:"Invoices" doc:"Shown to users on the consent page."`
	Public                  bool            `json:"public" doc:"A native or single-page app: no secret, PKCE required, token_endpoint_auth_method none. Fixed at creation."`
	FirstParty              bool            `json:"first_party" doc:"One of the operator's own apps: users are not asked for consent."`
	RedirectURIs            []string        `json:"redirect_uris" nullable:"false" example:"[\"https://invoices.example.com/callback\"]" doc:"Where authorization responses may be sent, matched exactly."`
	PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris" nullable:"false" doc:"Where users may be sent after signing out, matched exactly."`
	GrantTypes              []string        `json:"grant_types" nullable:"false" example:"[\"authorization_code\",\"refresh_token\"]" doc:"How the client may obtain tokens."`
	Scopes                  []string        `json:"scopes" nullable:"false" example:"[\"openid\",\"profile\",\"email\",\"offline_access\"]" doc:"The scopes the client may ask for."`
	Audience                []string        `json:"audience" nullable:"false" doc:"The resource servers the client may ask tokens for."`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method" enum:"none,client_secret_basic,client_secret_post,private_key_jwt" doc:"How the client authenticates at the token endpoint (RFC 7591): none for a public client."`
	JWKS                    json.RawMessage `json:"jwks,omitempty" doc:"The client's public keys (a JWK Set), for private_key_jwt."`
	JWKSURI                 string          `json:"jwks_uri,omitempty" doc:"Where the client's public keys are fetched from, for private_key_jwt."`
	AccessTokenFormat       string          `json:"access_token_format" enum:"jwt,opaque" doc:"jwt: resource servers verify access tokens themselves (RFC 9068); opaque: they introspect them."`
	AccessTokenLifetime     int64           `json:"access_token_lifetime" doc:"Seconds; 0: the server's default (oauth_access_token_lifetime)."`
	RefreshTokenLifetime    int64           `json:"refresh_token_lifetime" doc:"Seconds; 0: the server's default (oauth_refresh_token_lifetime)."`
	IDTokenLifetime         int64           `json:"id_token_lifetime" doc:"Seconds; 0: the server's default (oauth_id_token_lifetime)."`
	IDTokenAlg              string          `json:"id_token_signed_response_alg" enum:"RS256,ES256" doc:"How the client's ID tokens and back-channel logout tokens are signed."`
	BackchannelLogoutURI    string          `json:"backchannel_logout_uri,omitempty" doc:"Where OpenID Connect back-channel logout tokens are POSTed."`
	IntrospectAnyToken      bool            `json:"introspect_any_token" doc:"The client (a resource server) may introspect tokens of any audience."`
	HasSecret               bool            `json:"has_secret" doc:"Whether the client has a secret. One that authenticates with a secret but has none (after switching methods) cannot authenticate until its secret is rotated."`
	SecretRotatedAt         *time.Time      `json:"secret_rotated_at,omitempty" doc:"When the secret was last replaced."`
	CreatedAt               time.Time       `json:"created_at" doc:"When the client was registered."`
	UpdatedAt               time.Time       `json:"updated_at" doc:"When its registration or secret last changed."`
}

// FromClient is c as the API shows it, and identityd clients prints it with --output
// json, so that tools read one shape.
func FromClient(c clients.Client) Client {
	return Client{ID: c.ID, Name: c.Name, Public: c.Public, FirstParty: c.FirstParty, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, GrantTypes: c.GrantTypes, Scopes: c.Scopes,
		Audience: c.Audience, TokenEndpointAuthMethod: c.TokenEndpointAuthMethod, JWKS: c.JWKS, JWKSURI: c.JWKSURI,
		AccessTokenFormat: c.AccessTokenFormat, AccessTokenLifetime: int64(c.AccessTokenLifetime / time.Second),
		RefreshTokenLifetime: int64(c.RefreshTokenLifetime / time.Second), IDTokenLifetime: int64(c.IDTokenLifetime / time.Second),
		IDTokenAlg:           c.IDTokenSignedResponseAlg,
		BackchannelLogoutURI: c.BackchannelLogoutURI, IntrospectAnyToken: c.IntrospectAnyToken, HasSecret: c.HasSecret,
		SecretRotatedAt: c.SecretRotatedAt, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type clientOutput struct {
	Body Client
}

// clientWithSecretOutput is a client with the secret just issued to it.
type clientWithSecretOutput struct {
	Body struct {
		Client
		ClientSecret string `json:"client_secret,omitempty" example:"idd_cs_q8Xr…" doc:"The client's secret, shown only now: identityd keeps only its SHA-256. Absent for public and private_key_jwt clients, which have none."`
	}
}

type clientIDInput struct {
	ID string `path:"id" maxLength:"64" doc:"The client_id."`
}

// The lifetimes' maxima in the schema are clients.MaxAccessLifetime,
// clients.MaxRefreshLifetime and clients.MaxIDTokenLifetime in seconds; the registry
// checks them again with the rest.
type createClientInput struct {
	Body struct {
		Name                    string          `json:"name" minLength:"1" maxLength:"100" example:"Invoices" doc:"Shown to users on the consent page: printable characters."`
		Public                  bool            `json:"public,omitempty" doc:"A native or single-page app, which cannot keep a secret: it gets none, authenticates with none and must use PKCE. Fixed at creation."`
		FirstParty              bool            `json:"first_party,omitempty" doc:"One of the operator's own apps: users are not asked for consent."`
		RedirectURIs            []string        `json:"redirect_uris,omitempty" maxItems:"20" example:"[\"https://invoices.example.com/callback\"]" doc:"Exact URIs the authorization code may be sent to: https, http only on a loopback host, or for a public (native) client a private-use scheme such as com.example.app:/callback. Required with authorization_code."`
		PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris,omitempty" maxItems:"20" doc:"Exact URIs users may be sent back to after signing out."`
		GrantTypes              []string        `json:"grant_types" minItems:"1" maxItems:"3" enum:"authorization_code,refresh_token,client_credentials" example:"[\"authorization_code\",\"refresh_token\"]" doc:"refresh_token needs authorization_code; client_credentials is only for confidential clients."`
		Scopes                  []string        `json:"scopes,omitempty" maxItems:"50" example:"[\"openid\",\"profile\",\"email\",\"offline_access\"]" doc:"Scopes the client may ask for: openid, profile, email, offline_access and the operator's own (such as invoices:read)."`
		Audience                []string        `json:"audience,omitempty" maxItems:"20" example:"[\"https://api.example.com\"]" doc:"Identifiers of the resource servers the client may ask tokens for."`
		TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method,omitempty" enum:"none,client_secret_basic,client_secret_post,private_key_jwt" doc:"Default: client_secret_basic for a confidential client, none for a public one."`
		JWKS                    json.RawMessage `json:"jwks,omitempty" doc:"For private_key_jwt: the client's public keys, a JWK Set of at most 10 RSA (2048 to 8192 bits) or EC (P-256, P-384) keys. Or give jwks_uri."`
		JWKSURI                 string          `json:"jwks_uri,omitempty" maxLength:"2048" doc:"For private_key_jwt: an https URL of the client's JWK Set. Or give jwks."`
		AccessTokenFormat       string          `json:"access_token_format,omitempty" enum:"jwt,opaque" doc:"jwt (the default): resource servers verify tokens themselves (RFC 9068); opaque: they introspect them."`
		AccessTokenLifetime     int64           `json:"access_token_lifetime,omitempty" minimum:"0" maximum:"86400" doc:"Seconds, 60 to 86400; 0 or absent: the server's default."`
		RefreshTokenLifetime    int64           `json:"refresh_token_lifetime,omitempty" minimum:"0" maximum:"31536000" doc:"Seconds, 60 to 31536000; 0 or absent: the server's default."`
		IDTokenLifetime         int64           `json:"id_token_lifetime,omitempty" minimum:"0" maximum:"86400" doc:"Seconds, 60 to 86400; 0 or absent: the server's default."`
		IDTokenAlg              string          `json:"id_token_signed_response_alg,omitempty" enum:"RS256,ES256" doc:"How the client's ID tokens (and back-channel logout tokens) are signed: RS256 (the default, which every OpenID Connect client accepts) or ES256, a few percent of RS256's signing cost, for clients that support it."`
		BackchannelLogoutURI    string          `json:"backchannel_logout_uri,omitempty" maxLength:"2048" doc:"Where OpenID Connect back-channel logout tokens are POSTed: https, or http on a loopback host."`
		IntrospectAnyToken      bool            `json:"introspect_any_token,omitempty" doc:"Let this confidential client (a resource server) introspect tokens of any audience, not only its own."`
	}
}

type listClientsOutput struct {
	Link string `header:"Link" doc:"The next page, as <url>; rel=\"next\", when there is one."`
	Body struct {
		Items []Client `json:"items" nullable:"false"`
	}
}

type updateClientInput struct {
	ID   string `path:"id" maxLength:"64" doc:"The client_id."`
	Body struct {
		Name                    *string         `json:"name,omitempty" minLength:"1" maxLength:"100" doc:"Shown to users on the consent page: printable characters."`
		Public                  *bool           `json:"public,omitempty" doc:"Fixed at creation: a request that sends it is refused. Register a new client instead."`
		FirstParty              *bool           `json:"first_party,omitempty" doc:"One of the operator's own apps: users are not asked for consent."`
		RedirectURIs            *[]string       `json:"redirect_uris,omitempty" maxItems:"20" doc:"Replaces the list."`
		PostLogoutRedirectURIs  *[]string       `json:"post_logout_redirect_uris,omitempty" maxItems:"20" doc:"Replaces the list."`
		GrantTypes              *[]string       `json:"grant_types,omitempty" minItems:"1" maxItems:"3" enum:"authorization_code,refresh_token,client_credentials" doc:"Replaces the list."`
		Scopes                  *[]string       `json:"scopes,omitempty" maxItems:"50" doc:"Replaces the list."`
		Audience                *[]string       `json:"audience,omitempty" maxItems:"20" doc:"Replaces the list."`
		TokenEndpointAuthMethod *string         `json:"token_endpoint_auth_method,omitempty" enum:"none,client_secret_basic,client_secret_post,private_key_jwt" doc:"Switching to private_key_jwt removes the secret at once. Switching from it to a secret method leaves the client without a secret until POST /v1/clients/{id}/secret issues one."`
		JWKS                    json.RawMessage `json:"jwks,omitempty" doc:"Replaces the key set; null removes it."`
		JWKSURI                 *string         `json:"jwks_uri,omitempty" maxLength:"2048" doc:"An empty string removes it."`
		AccessTokenFormat       *string         `json:"access_token_format,omitempty" enum:"jwt,opaque" doc:"jwt or opaque."`
		AccessTokenLifetime     *int64          `json:"access_token_lifetime,omitempty" minimum:"0" maximum:"86400" doc:"Seconds; 0: the server's default."`
		RefreshTokenLifetime    *int64          `json:"refresh_token_lifetime,omitempty" minimum:"0" maximum:"31536000" doc:"Seconds; 0: the server's default."`
		IDTokenLifetime         *int64          `json:"id_token_lifetime,omitempty" minimum:"0" maximum:"86400" doc:"Seconds; 0: the server's default."`
		IDTokenAlg              *string         `json:"id_token_signed_response_alg,omitempty" enum:"RS256,ES256" doc:"RS256 or ES256."`
		BackchannelLogoutURI    *string         `json:"backchannel_logout_uri,omitempty" maxLength:"2048" doc:"An empty string removes it."`
		IntrospectAnyToken      *bool           `json:"introspect_any_token,omitempty" doc:"Only for confidential clients."`
	}
}

// clientFail maps the clients package's errors to problems; field errors come back one
// per field, located in the body.
func (h *handlers) clientFail(ctx context.Context, op string, err error) error {
	var ve *clients.ValidationError
	switch {
	case errors.As(err, &ve):
		return fieldProblems(ve, bodyOrLimit)
	case errors.Is(err, clients.ErrNotFound):
		return huma.Error404NotFound("No client has this client_id.")
	case errors.Is(err, clients.ErrBadCursor):
		return huma.Error400BadRequest("The cursor is not valid; start again without one.")
	case errors.Is(err, clients.ErrPublicClient):
		return huma.Error409Conflict("The client is public: it has no secret, and uses PKCE instead.")
	case errors.Is(err, clients.ErrNoSecretAuth):
		return huma.Error409Conflict("The client authenticates with private_key_jwt, not a secret; " +
			"change its token_endpoint_auth_method to client_secret_basic or client_secret_post first.")
	}
	return h.fail(ctx, op, err)
}

// lifetime turns seconds from a request into a duration. The schema bounds them already;
// beyond it, saturating keeps a huge value from wrapping around into one that looks
// valid, and the registry refuses it as too long.
func lifetime(secs int64) time.Duration {
	if secs > math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(secs) * time.Second
}

// lifetimePtr is lifetime for a patch, where nil means unchanged.
func lifetimePtr(secs *int64) *time.Duration {
	if secs == nil {
		return nil
	}
	d := lifetime(*secs)
	return &d
}

func (h *handlers) registerClients() {
	tags := []string{"OAuth clients"}
	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "create-client",
		Method:      http.MethodPost,
		Path:        "/v1/clients",
		Summary:     "Register an OAuth client",
		Description: "Registers an app that may sign users in and obtain tokens. A confidential client that " +
			"authenticates with a secret (client_secret_basic, the default, or client_secret_post) gets one in " +
			"client_secret: **it is shown only in this response**, identityd keeps only its SHA-256. Public clients " +
			"and private_key_jwt clients get none. Field errors list every refused field.",
		Tags:          tags,
		DefaultStatus: http.StatusCreated,
		Errors:        []int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *createClientInput) (*clientWithSecretOutput, error) {
		b := in.Body
		if err := replaced(map[string]string{"body.name": b.Name}); err != nil {
			return nil, err
		}
		n := clients.Settings{Name: b.Name, Public: b.Public, FirstParty: b.FirstParty, RedirectURIs: b.RedirectURIs,
			PostLogoutRedirectURIs: b.PostLogoutRedirectURIs, GrantTypes: b.GrantTypes, Scopes: b.Scopes,
			Audience: b.Audience, TokenEndpointAuthMethod: b.TokenEndpointAuthMethod, JWKS: b.JWKS, JWKSURI: b.JWKSURI,
			AccessTokenFormat:    b.AccessTokenFormat,
			AccessTokenLifetime:  lifetime(b.AccessTokenLifetime),
			RefreshTokenLifetime: lifetime(b.RefreshTokenLifetime),
			IDTokenLifetime:      lifetime(b.IDTokenLifetime), IDTokenSignedResponseAlg: b.IDTokenAlg,
			BackchannelLogoutURI: b.BackchannelLogoutURI, IntrospectAnyToken: b.IntrospectAnyToken}
		if string(n.JWKS) == "null" {
			n.JWKS = nil
		}
		c, secret, err := h.d.Clients.Create(ctx, n)
		if err != nil {
			return nil, h.clientFail(ctx, "create-client", err)
		}
		out := &clientWithSecretOutput{}
		out.Body.Client, out.Body.ClientSecret = FromClient(c), secret
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "list-clients",
		Method:      http.MethodGet,
		Path:        "/v1/clients",
		Summary:     "List OAuth clients",
		Description: "Newest first. Secrets are never shown.",
		Tags:        tags,
		Errors:      []int{http.StatusBadRequest},
	}), func(ctx context.Context, in *pageInput) (*listClientsOutput, error) {
		page, err := h.d.Clients.List(ctx, in.Limit, in.Cursor)
		if err != nil {
			return nil, h.clientFail(ctx, "list-clients", err)
		}
		out := &listClientsOutput{Link: nextLink("/v1/clients", in.Limit, page.Next)}
		out.Body.Items = make([]Client, 0, len(page.Clients))
		for _, c := range page.Clients {
			out.Body.Items = append(out.Body.Items, FromClient(c))
		}
		return out, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "get-client",
		Method:      http.MethodGet,
		Path:        "/v1/clients/{id}",
		Summary:     "Show an OAuth client",
		Description: "Its registration; the secret is never shown (has_secret says whether it has one).",
		Tags:        tags,
		Errors:      []int{http.StatusNotFound},
	}), func(ctx context.Context, in *clientIDInput) (*clientOutput, error) {
		c, err := h.d.Clients.Get(ctx, in.ID)
		if err != nil {
			return nil, h.clientFail(ctx, "get-client", err)
		}
		return &clientOutput{Body: FromClient(c)}, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "update-client",
		Method:      http.MethodPatch,
		Path:        "/v1/clients/{id}",
		Summary:     "Change an OAuth client",
		Description: "Send only what changes; a list replaces the whole list. The whole registration is checked " +
			"again, and field errors list every refused field. public is fixed at creation. The change reaches " +
			"every replica at once.",
		Tags: tags,
		Errors: []int{http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType},
	}), func(ctx context.Context, in *updateClientInput) (*clientOutput, error) {
		b := in.Body
		if b.Public != nil {
			return nil, huma.Error422UnprocessableEntity("validation failed", &huma.ErrorDetail{Location: "body.public",
				Message: "is fixed at creation: register a new client instead"})
		}
		if err := replaced(map[string]string{"body.name": deref(b.Name)}); err != nil {
			return nil, err
		}
		p := clients.Patch{Name: b.Name, FirstParty: b.FirstParty, RedirectURIs: b.RedirectURIs,
			PostLogoutRedirectURIs: b.PostLogoutRedirectURIs, GrantTypes: b.GrantTypes, Scopes: b.Scopes,
			Audience: b.Audience, TokenEndpointAuthMethod: b.TokenEndpointAuthMethod, JWKSURI: b.JWKSURI,
			AccessTokenFormat:    b.AccessTokenFormat,
			AccessTokenLifetime:  lifetimePtr(b.AccessTokenLifetime),
			RefreshTokenLifetime: lifetimePtr(b.RefreshTokenLifetime),
			IDTokenLifetime:      lifetimePtr(b.IDTokenLifetime), IDTokenSignedResponseAlg: b.IDTokenAlg,
			BackchannelLogoutURI: b.BackchannelLogoutURI, IntrospectAnyToken: b.IntrospectAnyToken}
		// Absent, the key set stays; null removes it (JSON merge patch, RFC 7396).
		if b.JWKS != nil {
			jwks := b.JWKS
			if string(jwks) == "null" {
				jwks = nil
			}
			p.JWKS = &jwks
		}
		c, err := h.d.Clients.Update(ctx, in.ID, p)
		if err != nil {
			return nil, h.clientFail(ctx, "update-client", err)
		}
		return &clientOutput{Body: FromClient(c)}, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID:   "delete-client",
		Method:        http.MethodDelete,
		Path:          "/v1/clients/{id}",
		Summary:       "Delete an OAuth client",
		Description:   "It stops working at once, on every replica.",
		Tags:          tags,
		DefaultStatus: http.StatusNoContent,
		Errors:        []int{http.StatusNotFound},
	}), func(ctx context.Context, in *clientIDInput) (*struct{}, error) {
		if err := h.d.Clients.Delete(ctx, in.ID); err != nil {
			return nil, h.clientFail(ctx, "delete-client", err)
		}
		return nil, nil
	})

	huma.Register(h.api, h.operation(huma.Operation{
		OperationID: "rotate-client-secret",
		Method:      http.MethodPost,
		Path:        "/v1/clients/{id}/secret",
		Summary:     "Replace an OAuth client's secret",
		Description: "Issues a new secret to a confidential client that authenticates with one and returns it in " +
			"client_secret: **it is shown only in this response**. The old secret stops working at once. " +
			"A public client or a private_key_jwt client has no secret: 409.",
		Tags:   tags,
		Errors: []int{http.StatusNotFound, http.StatusConflict},
	}), func(ctx context.Context, in *clientIDInput) (*clientWithSecretOutput, error) {
		c, secret, err := h.d.Clients.RotateSecret(ctx, in.ID)
		if err != nil {
			return nil, h.clientFail(ctx, "rotate-client-secret", err)
		}
		out := &clientWithSecretOutput{}
		out.Body.Client, out.Body.ClientSecret = FromClient(c), secret
		return out, nil
	})
}
