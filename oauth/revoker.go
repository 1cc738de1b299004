package oauth

import (
	"context"
	"fmt"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
)

var _ users.Revoker = (*Provider)(nil)

// RevokeUser revokes every token of userID in tx, the transaction of the account change
// that requires it (a password reset or set, the user disabled or deleted). It
// implements users.Revoker.
func (p *Provider) RevokeUser(ctx context.Context, tx *store.Tx, userID string, reason users.RevokeReason) error {
	return p.revokeUserTokens(ctx, tx, userID, string(reason))
}

// revokeUserTokens ends every token of userID issued up to now: the rows of refresh and
// opaque access tokens go, and the user's key joins the revocation list for the JWTs.
func (p *Provider) revokeUserTokens(ctx context.Context, tx *store.Tx, userID, reason string) error {
	for _, q := range []string{`DELETE FROM oauth_refresh_tokens WHERE user_id = $1`,
		`DELETE FROM oauth_access_tokens WHERE user_id = $1`} {
		if _, err := tx.Exec(ctx, q, userID); err != nil {
			return fmt.Errorf("oauth: revoke user tokens: %w", err)
		}
	}
	learn, err := p.revocations.add(ctx, tx, userKey(userID))
	if err != nil {
		return fmt.Errorf("oauth: revoke user tokens: %w", err)
	}
	tx.AfterCommit(learn)
	return p.d.Audit.Record(ctx, tx, audit.OAuthTokensRevoked(userID, reason, 0))
}

// revokeSessionTokens ends the tokens issued in the sign-in sessions ids of userID.
func (p *Provider) revokeSessionTokens(ctx context.Context, tx *store.Tx, userID string, ids []string) error {
	for _, id := range ids {
		for _, q := range []string{`DELETE FROM oauth_refresh_tokens WHERE session_id = $1`,
			`DELETE FROM oauth_access_tokens WHERE session_id = $1`} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return fmt.Errorf("oauth: revoke session tokens: %w", err)
			}
		}
		learn, err := p.revocations.add(ctx, tx, sessionKey(id))
		if err != nil {
			return fmt.Errorf("oauth: revoke session tokens: %w", err)
		}
		tx.AfterCommit(learn)
	}
	return p.d.Audit.Record(ctx, tx, audit.OAuthTokensRevoked(userID, "admin", len(ids)))
}
