package clients

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/validation"
)

// Create registers a client and returns it. A client that authenticates with a secret
// (client_secret_basic or client_secret_post) gets one: 256 random bits in base64url,
// prefixed "idd_cs_" so that secret scanners recognise it, stored only as its SHA-256 and
// returned this once. Public and private_key_jwt clients get none (the secret is "").
func (s *Service) Create(ctx context.Context, n Settings) (Client, string, error) {
	now := s.stamp()
	c := Client{ID: store.NewID(), Settings: n.clone(), CreatedAt: now, UpdatedAt: now}
	if err := s.prepare(&c); err != nil {
		return Client{}, "", err
	}
	var secret string
	var hash []byte
	if usesSecret(c.TokenEndpointAuthMethod) {
		secret, hash = newSecret()
		c.HasSecret = true
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_clients (`+clientColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)`,
			rowValues(c, hash)...); err != nil {
			return err
		}
		// No notification: no cache can hold a client that did not exist, for misses
		// are not cached.
		return s.audit.Record(ctx, tx, audit.ClientCreated(c.ID, c.Name, c.Public, c.FirstParty,
			c.TokenEndpointAuthMethod, c.GrantTypes))
	})
	if err != nil {
		return Client{}, "", fmt.Errorf("clients: create: %w", err)
	}
	return c, secret, nil
}

// Get returns the client with id from the database, or ErrNotFound. The protocol's hot
// path uses Lookup instead.
func (s *Service) Get(ctx context.Context, id string) (Client, error) {
	if !plausibleID(id) {
		return Client{}, ErrNotFound
	}
	c, _, err := scanClient(s.db.QueryRow(ctx, `SELECT `+clientColumns+` FROM oauth_clients WHERE id = $1`, id))
	if errors.Is(err, store.ErrNotFound) {
		return Client{}, ErrNotFound
	}
	if err != nil {
		return Client{}, fmt.Errorf("clients: get: %w", err)
	}
	return c, nil
}

// MaxPageSize bounds one page of List.
const MaxPageSize = 500

// Page is one page of clients, newest first, and the cursor of the next page ("" when
// this is the last).
type Page struct {
	Clients []Client
	Next    string
}

// List returns up to limit clients, newest first, starting after cursor ("" for the
// first page). Pages are keyed on (created_at, id), so clients created meanwhile neither
// repeat nor shift later pages.
func (s *Service) List(ctx context.Context, limit int, cursor string) (Page, error) {
	if limit < 1 || limit > MaxPageSize {
		return Page{}, validation.One(scope, "limit", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	q, args, err := store.PageNewestFirst(`SELECT `+clientColumns+` FROM oauth_clients`, nil, false, limit, cursor)
	if err != nil {
		return Page{}, err
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("clients: list: %w", err)
	}
	found, err := store.CollectRows(rows, func(r *store.Rows) (Client, error) {
		c, _, err := scanClient(r)
		return c, err
	})
	if err != nil {
		return Page{}, fmt.Errorf("clients: list: %w", err)
	}
	page := Page{Clients: found}
	if len(found) > limit {
		page.Clients = found[:limit]
		last := page.Clients[limit-1]
		page.Next = store.NextCursor(len(found), limit, last.CreatedAt, last.ID)
	}
	return page, nil
}

// Patch says what to change in a client: each field that is set (non-nil). Public is
// fixed at creation. An empty TokenEndpointAuthMethod or AccessTokenFormat sets the
// default, and an empty JWKS, JWKSURI or BackchannelLogoutURI removes it.
//
// Switching to private_key_jwt removes the client's secret at once. Switching from it to
// client_secret_basic or client_secret_post leaves the client without a secret, unable
// to authenticate, until RotateSecret issues one: Update never returns a secret, and a
// secret that appeared unasked would be one nobody saw.
type Patch struct {
	Name                     *string
	FirstParty               *bool
	RedirectURIs             *[]string
	PostLogoutRedirectURIs   *[]string
	GrantTypes               *[]string
	Scopes                   *[]string
	Audience                 *[]string
	TokenEndpointAuthMethod  *string
	JWKS                     *json.RawMessage
	JWKSURI                  *string
	AccessTokenFormat        *string
	AccessTokenLifetime      *time.Duration
	RefreshTokenLifetime     *time.Duration
	IDTokenLifetime          *time.Duration
	IDTokenSignedResponseAlg *string
	BackchannelLogoutURI     *string
	IntrospectAnyToken       *bool
}

// Update applies p to the client with id and returns the result, or ErrNotFound. The
// whole registration is checked again, as Create checks it, so rules between fields hold
// whichever of them p touches. A patch that changes nothing writes nothing and records
// no event; otherwise the event names the changed fields.
func (s *Service) Update(ctx context.Context, id string, p Patch) (Client, error) {
	if !plausibleID(id) {
		return Client{}, ErrNotFound
	}
	var c Client
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		q := `SELECT ` + clientColumns + ` FROM oauth_clients WHERE id = $1`
		if tx.Dialect() == store.Postgres {
			q += ` FOR UPDATE` // SQLite's writer transaction excludes other writers already
		}
		old, hash, err := scanClient(tx.QueryRow(ctx, q, id))
		if err != nil {
			return err
		}
		c = p.apply(old)
		if err := s.prepare(&c); err != nil {
			return err
		}
		fields := changedFields(old, c)
		if hash != nil && !usesSecret(c.TokenEndpointAuthMethod) {
			hash, c.HasSecret, c.SecretRotatedAt = nil, false, nil
			fields = append(fields, "secret")
		}
		if len(fields) == 0 {
			c = old
			return nil
		}
		c.UpdatedAt = s.stamp()
		if _, err := tx.Exec(ctx, `UPDATE oauth_clients SET (`+clientColumns+`)
			= ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
			WHERE id = $1`, rowValues(c, hash)...); err != nil {
			return err
		}
		notify(tx, c.ID)
		return s.audit.Record(ctx, tx, audit.ClientUpdated(c.ID, fields))
	})
	// Dropped whatever the outcome: a commit whose answer was lost may have happened.
	s.cache.invalidate(id)
	var ve *ValidationError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Client{}, ErrNotFound
	case errors.As(err, &ve):
		return Client{}, ve
	case err != nil:
		return Client{}, fmt.Errorf("clients: update: %w", err)
	}
	return c, nil
}

// apply returns c with the patch's fields set. The lists are copied, so that the
// caller's slices never become the client's.
func (p Patch) apply(c Client) Client {
	assign(&c.Name, p.Name)
	assign(&c.FirstParty, p.FirstParty)
	assign(&c.RedirectURIs, p.RedirectURIs)
	assign(&c.PostLogoutRedirectURIs, p.PostLogoutRedirectURIs)
	assign(&c.GrantTypes, p.GrantTypes)
	assign(&c.Scopes, p.Scopes)
	assign(&c.Audience, p.Audience)
	assign(&c.TokenEndpointAuthMethod, p.TokenEndpointAuthMethod)
	assign(&c.JWKS, p.JWKS)
	assign(&c.JWKSURI, p.JWKSURI)
	assign(&c.AccessTokenFormat, p.AccessTokenFormat)
	assign(&c.AccessTokenLifetime, p.AccessTokenLifetime)
	assign(&c.RefreshTokenLifetime, p.RefreshTokenLifetime)
	assign(&c.IDTokenLifetime, p.IDTokenLifetime)
	assign(&c.IDTokenSignedResponseAlg, p.IDTokenSignedResponseAlg)
	assign(&c.BackchannelLogoutURI, p.BackchannelLogoutURI)
	assign(&c.IntrospectAnyToken, p.IntrospectAnyToken)
	return c.clone()
}

// assign sets *dst to *src when src is set.
func assign[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// changedFields names the registration fields that differ between a and b, in the order
// of Client.
func changedFields(a, b Client) []string {
	var out []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"name", a.Name == b.Name},
		{"first_party", a.FirstParty == b.FirstParty},
		{"redirect_uris", slices.Equal(a.RedirectURIs, b.RedirectURIs)},
		{"post_logout_redirect_uris", slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs)},
		{"grant_types", slices.Equal(a.GrantTypes, b.GrantTypes)},
		{"scopes", slices.Equal(a.Scopes, b.Scopes)},
		{"audience", slices.Equal(a.Audience, b.Audience)},
		{"token_endpoint_auth_method", a.TokenEndpointAuthMethod == b.TokenEndpointAuthMethod},
		{"jwks", bytes.Equal(a.JWKS, b.JWKS)},
		{"jwks_uri", a.JWKSURI == b.JWKSURI},
		{"access_token_format", a.AccessTokenFormat == b.AccessTokenFormat},
		{"access_token_lifetime", a.AccessTokenLifetime == b.AccessTokenLifetime},
		{"refresh_token_lifetime", a.RefreshTokenLifetime == b.RefreshTokenLifetime},
		{"id_token_lifetime", a.IDTokenLifetime == b.IDTokenLifetime},
		{"id_token_signed_response_alg", a.IDTokenSignedResponseAlg == b.IDTokenSignedResponseAlg},
		{"backchannel_logout_uri", a.BackchannelLogoutURI == b.BackchannelLogoutURI},
		{"introspect_any_token", a.IntrospectAnyToken == b.IntrospectAnyToken},
	} {
		if !f.same {
			out = append(out, f.name)
		}
	}
	return out
}

// Delete removes the client with id, or returns ErrNotFound. It stops working at once:
// this process's cache drops it on return, and other replicas' when notified.
func (s *Service) Delete(ctx context.Context, id string) error {
	if !plausibleID(id) {
		return ErrNotFound
	}
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		var name string
		if err := tx.QueryRow(ctx, `DELETE FROM oauth_clients WHERE id = $1 RETURNING name`, id).Scan(&name); err != nil {
			return err
		}
		notify(tx, id)
		return s.audit.Record(ctx, tx, audit.ClientDeleted(id, name))
	})
	s.cache.invalidate(id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("clients: delete: %w", err)
	}
	return nil
}

// plausibleID reports whether id could name a client. Ids come from requests, so one
// that cannot (too long, not ASCII, a NUL that PostgreSQL's text refuses) is answered as
// unknown without a query, and never as a database error.
func plausibleID(id string) bool { return id != "" && len(id) <= 64 && visibleASCII(id) }

// clientColumns are the columns of oauth_clients in the order rowValues gives and
// scanClient reads them.
const clientColumns = `id, name, public, first_party, redirect_uris, post_logout_redirect_uris, grant_types, scopes,
	audience, token_endpoint_auth_method, jwks, jwks_uri, access_token_format, access_token_lifetime,
	refresh_token_lifetime, id_token_lifetime, backchannel_logout_uri, introspect_any_token, secret_hash,
	secret_rotated_at, created_at, updated_at, id_token_signed_response_alg`

// rowValues are c's column values, with hash as its secret_hash.
func rowValues(c Client, hash []byte) []any {
	var jwks, secretHash any // NULL unless set
	if c.JWKS != nil {
		jwks = string(c.JWKS)
	}
	if hash != nil {
		secretHash = hash
	}
	return []any{c.ID, c.Name, c.Public, c.FirstParty, jsonList(c.RedirectURIs), jsonList(c.PostLogoutRedirectURIs),
		jsonList(c.GrantTypes), jsonList(c.Scopes), jsonList(c.Audience), c.TokenEndpointAuthMethod, jwks, c.JWKSURI,
		c.AccessTokenFormat, seconds(c.AccessTokenLifetime), seconds(c.RefreshTokenLifetime), seconds(c.IDTokenLifetime),
		c.BackchannelLogoutURI, c.IntrospectAnyToken, secretHash, c.SecretRotatedAt, c.CreatedAt, c.UpdatedAt,
		c.IDTokenSignedResponseAlg}
}

func jsonList(l []string) string {
	b, _ := json.Marshal(list(l)) // a []string always marshals
	return string(b)
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// scanClient reads a row of clientColumns: the client and its secret hash (nil when it
// has none).
func scanClient(r interface{ Scan(...any) error }) (Client, []byte, error) {
	var (
		c                                      Client
		redirects, logouts, grants, scopes, au string
		jwks                                   *string
		access, refresh, idToken               int64
		hash                                   []byte
	)
	err := r.Scan(&c.ID, &c.Name, &c.Public, &c.FirstParty, &redirects, &logouts, &grants, &scopes, &au,
		&c.TokenEndpointAuthMethod, &jwks, &c.JWKSURI, &c.AccessTokenFormat, &access, &refresh, &idToken,
		&c.BackchannelLogoutURI, &c.IntrospectAnyToken, &hash, &c.SecretRotatedAt, &c.CreatedAt, &c.UpdatedAt,
		&c.IDTokenSignedResponseAlg)
	if err != nil {
		return Client{}, nil, err
	}
	for _, l := range []struct {
		raw string
		dst *[]string
	}{{redirects, &c.RedirectURIs}, {logouts, &c.PostLogoutRedirectURIs}, {grants, &c.GrantTypes},
		{scopes, &c.Scopes}, {au, &c.Audience}} {
		if err := json.Unmarshal([]byte(l.raw), l.dst); err != nil {
			return Client{}, nil, fmt.Errorf("clients: client %s: stored list: %w", c.ID, err)
		}
		*l.dst = list(*l.dst)
	}
	if jwks != nil {
		c.JWKS = json.RawMessage(*jwks)
	}
	c.AccessTokenLifetime = time.Duration(access) * time.Second
	c.RefreshTokenLifetime = time.Duration(refresh) * time.Second
	c.IDTokenLifetime = time.Duration(idToken) * time.Second
	if len(hash) == 0 {
		hash = nil
	}
	c.HasSecret = hash != nil
	return c, hash, nil
}
