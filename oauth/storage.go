package oauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	"github.com/ory/fosite/storage"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
)

// Storage is fosite's storage over identityd's database: clients from the client
// registry, and codes, tokens and requests kept only as SHA-256 of their handles.
type Storage struct {
	db          *store.DB
	clients     *clients.Service
	revocations *revocations
	audit       *audit.Log
	// batch records the events of tokens issued outside any transaction (client
	// credentials) in group commits.
	batch *audit.Batcher
	now   func() time.Time
	// refreshGrace lets a rotated refresh token be used again for this long, at most
	// refreshGraceUses times, for clients that refresh from several threads at once.
	refreshGrace     time.Duration
	refreshGraceUses int
}

// The interfaces fosite needs, checked here rather than by a type assertion deep in
// fosite at run time.
var (
	_ fosite.Storage                     = (*Storage)(nil)
	_ oauth2.CoreStorage                 = (*Storage)(nil)
	_ oauth2.TokenRevocationStorage      = (*Storage)(nil)
	_ pkce.PKCERequestStorage            = (*Storage)(nil)
	_ openid.OpenIDConnectRequestStorage = (*Storage)(nil)
	_ fosite.PARStorage                  = (*Storage)(nil)
	_ storage.Transactional              = (*Storage)(nil)
)

// handleHash is what the database keeps of a code's or token's handle.
func handleHash(handle string) []byte {
	h := sha256.Sum256([]byte(handle))
	return h[:]
}

// txKey finds the transaction fosite began in a context.
type txKey struct{}

// txState is a transaction fosite began.
type txState struct {
	tx *store.Tx
	// issued is the event of the tokens issued in the transaction, recorded as it
	// commits: only then is it known whether a refresh token came with them.
	issued *issuance
}

// issuance is tokens issued at the token endpoint, for their audit event.
type issuance struct {
	clientID, userID, grantType, grant string
	scopes                             []string
	refresh                            bool
}

func (i *issuance) event() audit.Event {
	return audit.OAuthTokenIssued(i.clientID, i.userID, i.grantType, i.grant, i.scopes, i.refresh)
}

// exchangeKey finds the exchange a request to the token or revocation endpoint is
// making, which storage needs to tell a second use of a code or refresh token from a
// first, and to audit what it does.
type exchangeKey struct{}

// exchange is one request to the token or revocation endpoint.
type exchange struct {
	// grantType is the token request's grant type; "" at the revocation endpoint.
	grantType string
	// claimedCode is the handle of the code this request claimed: fosite reads a code
	// twice in one exchange, and the second read must not look like reuse.
	claimedCode string
	// pending is an event to record with the revocation it explains (a reuse), in that
	// revocation's transaction.
	pending *audit.Event
	// revoker makes the event of a client revoking a token of the grant it names.
	revoker func(grant string) audit.Event
	// revokedGrant is the grant this request has revoked already: fosite revokes a
	// grant's refresh and access tokens in two calls, and one revocation ends both.
	revokedGrant string
}

// withExchange marks ctx as a request to the token endpoint (grantType set) or the
// revocation endpoint.
func withExchange(ctx context.Context, grantType string) (context.Context, *exchange) {
	x := &exchange{grantType: grantType}
	return context.WithValue(ctx, exchangeKey{}, x), x
}

func exchangeOf(ctx context.Context) *exchange {
	x, _ := ctx.Value(exchangeKey{}).(*exchange)
	return x
}

// q is the transaction of ctx, or the database.
func (s *Storage) q(ctx context.Context) store.Queryer {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		return st.tx
	}
	return s.db
}

// afterCommit runs fn once the transaction of ctx commits, or at once without one.
func (s *Storage) afterCommit(ctx context.Context, fn func()) {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		st.tx.AfterCommit(fn)
		return
	}
	fn()
}

// inTx runs fn in the transaction of ctx, or in one of its own.
func (s *Storage) inTx(ctx context.Context, fn func(tx *store.Tx) error) error {
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		return fn(st.tx)
	}
	return s.db.Tx(ctx, fn)
}

// BeginTX starts a transaction for fosite's steps that must happen together.
func (s *Storage) BeginTX(ctx context.Context) (context.Context, error) {
	tx, err := s.db.Begin(ctx)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, txKey{}, &txState{tx: tx}), nil
}

// Commit commits the transaction of ctx, with the event of the tokens it issued.
func (s *Storage) Commit(ctx context.Context) error {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return errors.New("oauth: commit without a transaction")
	}
	if st.issued != nil {
		if err := s.audit.Record(ctx, st.tx, st.issued.event()); err != nil {
			_ = st.tx.Rollback(ctx)
			return err
		}
	}
	return st.tx.Commit(ctx)
}

// Rollback rolls back the transaction of ctx.
func (s *Storage) Rollback(ctx context.Context) error {
	st, ok := ctx.Value(txKey{}).(*txState)
	if !ok {
		return errors.New("oauth: rollback without a transaction")
	}
	return st.tx.Rollback(ctx)
}

// notFound turns the store's not-found into fosite's.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fosite.ErrNotFound
	}
	return err
}

// GetClient returns the client with id, from the registry's cache.
func (s *Storage) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, hash, err := s.clients.LookupWithSecretHash(ctx, id)
	if errors.Is(err, clients.ErrNotFound) {
		return nil, fosite.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return newClient(c, hash)
}

// ClientAssertionJWTValid refuses a client assertion (private_key_jwt) seen before.
func (s *Storage) ClientAssertionJWTValid(ctx context.Context, jti string) error {
	var n int
	err := s.q(ctx).QueryRow(ctx, `SELECT count(*) FROM oauth_client_assertions WHERE jti_hash = $1 AND expires_at > $2`,
		handleHash(jti), s.now()).Scan(&n)
	if err != nil {
		return err
	}
	if n > 0 {
		return fosite.ErrJTIKnown
	}
	return nil
}

// SetClientAssertionJWT remembers an assertion until it expires. Of two racing uses of
// one assertion, the second finds it taken and is refused.
func (s *Storage) SetClientAssertionJWT(ctx context.Context, jti string, exp time.Time) error {
	n, err := s.q(ctx).Exec(ctx, `INSERT INTO oauth_client_assertions (jti_hash, expires_at) VALUES ($1, $2)
		ON CONFLICT (jti_hash) DO NOTHING`, handleHash(jti), exp.UTC())
	if err != nil {
		return err
	}
	if n == 0 {
		return fosite.ErrJTIKnown
	}
	return nil
}

// userOf is the user a request is for, or nil for a client acting for itself.
func userOf(r fosite.Requester) any {
	if sess, ok := r.GetSession().(*Session); ok && sess.UserID != "" {
		return sess.UserID
	}
	return nil
}

// expiry is when a stored request of token type tt lapses: the session's expiry for it,
// or fallback from now.
func (s *Storage) expiry(r fosite.Requester, tt fosite.TokenType, fallback time.Duration) time.Time {
	if exp := r.GetSession().GetExpiresAt(tt); !exp.IsZero() {
		return exp.UTC()
	}
	return s.now().UTC().Add(fallback)
}

// createRequest stores r under a handle of kind.
func (s *Storage) createRequest(ctx context.Context, kind, handle string, r fosite.Requester, expires time.Time) error {
	data, err := encodeRequest(r)
	if err != nil {
		return err
	}
	_, err = s.q(ctx).Exec(ctx, `INSERT INTO oauth_requests (kind, handle_hash, request_id, client_id, user_id, data, active,
		created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		kind, handleHash(handle), r.GetID(), r.GetClient().GetID(), userOf(r), string(data), true,
		s.now().UTC().Truncate(time.Microsecond), expires)
	return err
}

// getRequest reads the request stored under a handle of kind, and whether it is active.
func (s *Storage) getRequest(ctx context.Context, kind, handle string, session fosite.Session) (*fosite.Request, bool, error) {
	var (
		data   string
		active bool
	)
	err := s.q(ctx).QueryRow(ctx, `SELECT data, active FROM oauth_requests WHERE kind = $1 AND handle_hash = $2`,
		kind, handleHash(handle)).Scan(&data, &active)
	if err != nil {
		return nil, false, notFound(err)
	}
	r, _, err := s.decodeRequest(ctx, []byte(data), session)
	return r, active, err
}

func (s *Storage) deleteRequest(ctx context.Context, kind, handle string) error {
	_, err := s.q(ctx).Exec(ctx, `DELETE FROM oauth_requests WHERE kind = $1 AND handle_hash = $2`, kind, handleHash(handle))
	return err
}

// CreateAuthorizeCodeSession stores the request an authorization code answers.
func (s *Storage) CreateAuthorizeCodeSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.createRequest(ctx, "code", code, r, s.expiry(r, fosite.AuthorizeCode, 10*time.Minute))
}

// GetAuthorizeCodeSession returns a code's request. At the token endpoint the first read
// by the client the code was issued to claims the code, atomically, so that of two
// requests racing with one code only one gets tokens; a code used before comes back with
// fosite.ErrInvalidatedAuthorizeCode, upon which fosite revokes what its first use
// issued. Another client's attempt leaves the code as it was: fosite refuses it.
func (s *Storage) GetAuthorizeCodeSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	x := exchangeOf(ctx)
	caller, _ := ctx.Value(fosite.AccessRequestContextKey).(fosite.AccessRequester)
	if x == nil || x.claimedCode == code || caller == nil || caller.GetClient() == nil {
		r, _, err := s.getRequest(ctx, "code", code, session)
		return r, err
	}
	var data string
	err := s.inTx(ctx, func(tx *store.Tx) error {
		return tx.QueryRow(ctx, `UPDATE oauth_requests SET active = $3 WHERE kind = $1 AND handle_hash = $2 AND active
			AND client_id = $4 RETURNING data`, "code", handleHash(code), false, caller.GetClient().GetID()).Scan(&data)
	})
	if err == nil {
		x.claimedCode = code
		r, _, err := s.decodeRequest(ctx, []byte(data), session)
		return r, err
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	r, active, err := s.getRequest(ctx, "code", code, session)
	if err != nil || active {
		return r, err
	}
	ev := audit.OAuthTokenReused(r.GetClient().GetID(), userIDOf(r), "code", r.GetID())
	x.pending = &ev
	return r, fosite.ErrInvalidatedAuthorizeCode
}

// InvalidateAuthorizeCodeSession marks a code used; the token endpoint's first read
// has already.
func (s *Storage) InvalidateAuthorizeCodeSession(ctx context.Context, code string) error {
	_, err := s.q(ctx).Exec(ctx, `UPDATE oauth_requests SET active = $3 WHERE kind = $1 AND handle_hash = $2`,
		"code", handleHash(code), false)
	return err
}

// CreatePKCERequestSession stores the PKCE challenge of a code.
func (s *Storage) CreatePKCERequestSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.createRequest(ctx, "pkce", code, r, s.expiry(r, fosite.AuthorizeCode, 10*time.Minute))
}

// GetPKCERequestSession returns the PKCE challenge of a code.
func (s *Storage) GetPKCERequestSession(ctx context.Context, code string, session fosite.Session) (fosite.Requester, error) {
	r, _, err := s.getRequest(ctx, "pkce", code, session)
	return r, err
}

// DeletePKCERequestSession forgets the PKCE challenge of a code.
func (s *Storage) DeletePKCERequestSession(ctx context.Context, code string) error {
	return s.deleteRequest(ctx, "pkce", code)
}

// CreateOpenIDConnectSession stores the OpenID Connect request of a code.
func (s *Storage) CreateOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) error {
	return s.createRequest(ctx, "oidc", code, r, s.expiry(r, fosite.AuthorizeCode, 10*time.Minute))
}

// GetOpenIDConnectSession returns the OpenID Connect request of a code.
func (s *Storage) GetOpenIDConnectSession(ctx context.Context, code string, r fosite.Requester) (fosite.Requester, error) {
	stored, _, err := s.getRequest(ctx, "oidc", code, r.GetSession())
	return stored, err
}

// DeleteOpenIDConnectSession forgets the OpenID Connect request of a code.
func (s *Storage) DeleteOpenIDConnectSession(ctx context.Context, code string) error {
	return s.deleteRequest(ctx, "oidc", code)
}

// CreatePARSession stores a pushed authorization request under its request_uri.
func (s *Storage) CreatePARSession(ctx context.Context, requestURI string, r fosite.AuthorizeRequester) error {
	return s.createRequest(ctx, "par", requestURI, r, s.now().UTC().Add(parLifetime))
}

// GetPARSession returns a pushed authorization request.
func (s *Storage) GetPARSession(ctx context.Context, requestURI string) (fosite.AuthorizeRequester, error) {
	var data string
	err := s.q(ctx).QueryRow(ctx, `SELECT data FROM oauth_requests WHERE kind = 'par' AND handle_hash = $1 AND expires_at > $2`,
		handleHash(requestURI), s.now()).Scan(&data)
	if err != nil {
		return nil, notFound(err)
	}
	return s.decodeAuthorizeRequest(ctx, []byte(data))
}

// DeletePARSession forgets a pushed authorization request: it is used once.
func (s *Storage) DeletePARSession(ctx context.Context, requestURI string) error {
	return s.deleteRequest(ctx, "par", requestURI)
}

// CreateAccessTokenSession stores an opaque access token's request; a JWT access token
// is self-contained and gets no row. Either way the issue is audited: in the
// transaction of the exchange when there is one (codes, refreshes), else at once.
func (s *Storage) CreateAccessTokenSession(ctx context.Context, signature string, r fosite.Requester) error {
	if !isJWTSignature(signature) {
		data, err := encodeRequest(r)
		if err != nil {
			return err
		}
		_, err = s.q(ctx).Exec(ctx, `INSERT INTO oauth_access_tokens (token_hash, request_id, client_id, user_id, session_id,
			data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, handleHash(signature), r.GetID(),
			r.GetClient().GetID(), userOf(r), sessionOf(r), string(data), s.now().UTC().Truncate(time.Microsecond),
			s.expiry(r, fosite.AccessToken, time.Hour))
		if err != nil {
			return err
		}
	}
	x := exchangeOf(ctx)
	if x == nil || x.grantType == "" {
		return nil
	}
	is := &issuance{clientID: r.GetClient().GetID(), userID: userIDOf(r), grantType: x.grantType, grant: r.GetID(),
		scopes: r.GetGrantedScopes()}
	if st, ok := ctx.Value(txKey{}).(*txState); ok {
		st.issued = is
		return nil
	}
	return s.batch.Record(ctx, is.event())
}

// sessionOf is the sign-in session a request was authorized in, or nil.
func sessionOf(r fosite.Requester) any {
	if sess, ok := r.GetSession().(*Session); ok && sess.SessionID != "" {
		return sess.SessionID
	}
	return nil
}

func isJWTSignature(signature string) bool {
	return len(signature) > len(jwtSignaturePrefix) && signature[:len(jwtSignaturePrefix)] == jwtSignaturePrefix
}

// GetAccessTokenSession returns an opaque access token's request. JWT access tokens are
// checked by their signature and the revocation list, not here.
func (s *Storage) GetAccessTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	if isJWTSignature(signature) {
		return nil, fosite.ErrNotFound
	}
	var data string
	err := s.q(ctx).QueryRow(ctx, `SELECT data FROM oauth_access_tokens WHERE token_hash = $1`, handleHash(signature)).Scan(&data)
	if err != nil {
		return nil, notFound(err)
	}
	r, _, err := s.decodeRequest(ctx, []byte(data), session)
	return r, err
}

// DeleteAccessTokenSession deletes an opaque access token's row. fosite v0.49 calls it
// nowhere; it completes the storage interface. A JWT has no row: ending one goes through
// the revocation endpoint, which records it and audits it (revoke.go).
func (s *Storage) DeleteAccessTokenSession(ctx context.Context, signature string) error {
	_, err := s.q(ctx).Exec(ctx, `DELETE FROM oauth_access_tokens WHERE token_hash = $1`, handleHash(signature))
	return err
}

// CreateRefreshTokenSession stores a refresh token's request.
func (s *Storage) CreateRefreshTokenSession(ctx context.Context, signature, _ string, r fosite.Requester) error {
	data, err := encodeRequest(r)
	if err != nil {
		return err
	}
	_, err = s.q(ctx).Exec(ctx, `INSERT INTO oauth_refresh_tokens (token_hash, request_id, client_id, user_id, session_id,
		data, active, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, handleHash(signature), r.GetID(),
		r.GetClient().GetID(), userOf(r), sessionOf(r), string(data), true, s.now().UTC().Truncate(time.Microsecond),
		s.expiry(r, fosite.RefreshToken, 30*24*time.Hour))
	if err != nil {
		return err
	}
	if st, ok := ctx.Value(txKey{}).(*txState); ok && st.issued != nil {
		st.issued.refresh = true
	}
	return nil
}

// GetRefreshTokenSession returns a refresh token's request. At the token endpoint, a
// token rotated before is reuse — someone holds a copy of it — and comes back with
// fosite.ErrInactiveToken, upon which fosite revokes the whole grant; within the grace
// period, a bounded number of uses of the just-rotated token are let through for
// clients that refresh concurrently (RotateRefreshToken counts them). Elsewhere
// (introspection, revocation) a rotated token is simply inactive.
func (s *Storage) GetRefreshTokenSession(ctx context.Context, signature string, session fosite.Session) (fosite.Requester, error) {
	var (
		data      string
		active    bool
		rotatedAt *time.Time
		graceUses int
	)
	err := s.q(ctx).QueryRow(ctx, `SELECT data, active, rotated_at, grace_uses FROM oauth_refresh_tokens WHERE token_hash = $1`,
		handleHash(signature)).Scan(&data, &active, &rotatedAt, &graceUses)
	if err != nil {
		return nil, notFound(err)
	}
	r, _, err := s.decodeRequest(ctx, []byte(data), session)
	if err != nil {
		return nil, err
	}
	if active {
		return r, nil
	}
	x := exchangeOf(ctx)
	if x == nil || x.grantType != "refresh_token" {
		return r, fosite.ErrInactiveToken
	}
	if s.inGrace(rotatedAt) && graceUses < s.refreshGraceUses {
		return r, nil
	}
	ev := audit.OAuthTokenReused(r.GetClient().GetID(), userIDOf(r), "refresh", r.GetID())
	x.pending = &ev
	return r, fosite.ErrInactiveToken
}

// inGrace reports whether a refresh token rotated at rotatedAt may still be used again.
func (s *Storage) inGrace(rotatedAt *time.Time) bool {
	return rotatedAt != nil && s.refreshGrace > 0 && s.now().Before(rotatedAt.Add(s.refreshGrace))
}

// userIDOf is the user of a request, "" for a client acting for itself.
func userIDOf(r fosite.Requester) string {
	if sess, ok := r.GetSession().(*Session); ok {
		return sess.UserID
	}
	return ""
}

// DeleteRefreshTokenSession forgets a refresh token.
func (s *Storage) DeleteRefreshTokenSession(ctx context.Context, signature string) error {
	_, err := s.q(ctx).Exec(ctx, `DELETE FROM oauth_refresh_tokens WHERE token_hash = $1`, handleHash(signature))
	return err
}

// RotateRefreshToken retires a refresh token that was just exchanged: it stays,
// inactive, so that a second use is recognised as reuse rather than as an unknown token.
// The update is conditional, so that of two exchanges racing with one token only one
// rotates it; the other is refused (and may retry, which is then reuse) unless the grace
// period lets it through, counted here under the row's lock.
func (s *Storage) RotateRefreshToken(ctx context.Context, requestID string, signature string) error {
	now := s.now().UTC().Truncate(time.Microsecond)
	n, err := s.q(ctx).Exec(ctx, `UPDATE oauth_refresh_tokens SET active = $2, rotated_at = $3
		WHERE token_hash = $1 AND active`, handleHash(signature), false, now)
	if err != nil {
		return err
	}
	if n == 0 && s.refreshGrace > 0 {
		n, err = s.q(ctx).Exec(ctx, `UPDATE oauth_refresh_tokens SET grace_uses = grace_uses + 1
			WHERE token_hash = $1 AND NOT active AND rotated_at > $2 AND grace_uses < $3`,
			handleHash(signature), now.Add(-s.refreshGrace), s.refreshGraceUses)
		if err != nil {
			return err
		}
	}
	if n == 0 {
		return fosite.ErrSerializationFailure
	}
	// The grant's opaque access tokens end with the refresh token they came with; JWT
	// ones run out on their own within the access token lifetime.
	_, err = s.q(ctx).Exec(ctx, `DELETE FROM oauth_access_tokens WHERE request_id = $1`, requestID)
	return err
}

// RevokeRefreshToken revokes a grant's refresh tokens, and with them the grant's access
// tokens (RFC 7009 §2.1: the server SHOULD): its rows go and its key joins the
// revocation list, which reaches its JWT access tokens.
func (s *Storage) RevokeRefreshToken(ctx context.Context, requestID string) error {
	return s.revokeGrant(ctx, requestID)
}

// RevokeAccessToken revokes a grant's access tokens — fosite calls it with the grant's
// refresh tokens on reuse — and so the grant.
func (s *Storage) RevokeAccessToken(ctx context.Context, requestID string) error {
	return s.revokeGrant(ctx, requestID)
}

// revokeGrant ends every token of a grant, with the event that explains it if the
// exchange has one waiting.
func (s *Storage) revokeGrant(ctx context.Context, requestID string) error {
	x := exchangeOf(ctx)
	if x != nil && x.revokedGrant == requestID {
		return nil
	}
	err := s.inTx(ctx, func(tx *store.Tx) error {
		for _, q := range []string{`DELETE FROM oauth_refresh_tokens WHERE request_id = $1`,
			`DELETE FROM oauth_access_tokens WHERE request_id = $1`} {
			if _, err := tx.Exec(ctx, q, requestID); err != nil {
				return err
			}
		}
		learn, err := s.revocations.add(ctx, tx, grantKey(requestID))
		if err != nil {
			return err
		}
		tx.AfterCommit(learn)
		switch {
		case x == nil:
			return nil
		case x.pending != nil:
			ev := *x.pending
			x.pending = nil
			return s.audit.Record(ctx, tx, ev)
		case x.revoker != nil:
			ev := x.revoker(requestID)
			x.revoker = nil
			return s.audit.Record(ctx, tx, ev)
		}
		return nil
	})
	if err == nil && x != nil {
		x.revokedGrant = requestID
	}
	return err
}
