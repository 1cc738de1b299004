package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ory/fosite"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/store"
)

// ConsentPath is the page that asks a person to let an app in (package ui serves it).
const ConsentPath = "/consent"

// consentOf returns the scopes the user has granted the client, if any.
func (p *Provider) consentOf(ctx context.Context, q store.Queryer, userID, clientID string) ([]string, bool, error) {
	var scopes string
	err := q.QueryRow(ctx, `SELECT scopes FROM oauth_consents WHERE user_id = $1 AND client_id = $2`, userID, clientID).
		Scan(&scopes)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var granted []string
	if err := json.Unmarshal([]byte(scopes), &granted); err != nil {
		return nil, false, fmt.Errorf("oauth: consent of %s for %s: %w", userID, clientID, err)
	}
	return granted, true, nil
}

// ConsentRequest is what the consent page shows: which app asks for what.
type ConsentRequest struct {
	ClientID   string
	ClientName string
	// Scopes are what the app asks for, in the order asked.
	Scopes []string
	// Audience are the services the app asks tokens for.
	Audience []string
	// ReturnTo continues the authorization once the person has answered.
	ReturnTo string
}

// ErrNoRequest means a consent page was opened for an authorization that is not (or no
// longer) waiting for one.
var ErrNoRequest = errors.New("oauth: no such authorization request")

// DescribeConsent tells the consent page what the waiting authorization at returnTo asks
// for. Only a continuation identityd made is accepted.
func (p *Provider) DescribeConsent(ctx context.Context, returnTo string) (ConsentRequest, error) {
	ar, err := p.continuation(ctx, returnTo)
	if err != nil {
		return ConsentRequest{}, err
	}
	c := ar.GetClient().(*client)
	return ConsentRequest{ClientID: c.c.ID, ClientName: c.c.Name, Scopes: ar.GetRequestedScopes(),
		Audience: ar.GetRequestedAudience(), ReturnTo: returnTo}, nil
}

// continuation loads the authorization request a return_to of continueAfter names.
func (p *Provider) continuation(ctx context.Context, returnTo string) (fosite.AuthorizeRequester, error) {
	rest, ok := strings.CutPrefix(returnTo, AuthorizePath+"?")
	if !ok {
		return nil, ErrNoRequest
	}
	q, err := url.ParseQuery(rest)
	if err != nil {
		return nil, ErrNoRequest
	}
	uri := q.Get("request_uri")
	if !strings.HasPrefix(uri, p.fcfg.PushedAuthorizeRequestURIPrefix) {
		return nil, ErrNoRequest
	}
	ar, err := p.storage.GetPARSession(ctx, uri)
	if errors.Is(err, fosite.ErrNotFound) {
		return nil, ErrNoRequest
	}
	if err != nil {
		return nil, err
	}
	if ar.GetClient().GetID() != q.Get("client_id") {
		return nil, ErrNoRequest
	}
	return ar, nil
}

// GrantConsent records that the user lets the client have the scopes the waiting
// authorization at returnTo asks for, adding to what was granted before.
func (p *Provider) GrantConsent(ctx context.Context, userID, returnTo string) error {
	ar, err := p.continuation(ctx, returnTo)
	if err != nil {
		return err
	}
	clientID := ar.GetClient().GetID()
	now := p.d.Now().UTC().Truncate(time.Microsecond)
	return p.d.DB.Tx(ctx, func(tx *store.Tx) error {
		// What was granted before is read in the transaction that adds to it, and on
		// PostgreSQL with the user's row locked, so that two grants at once cannot drop
		// each other's scopes (SQLite's writer transaction excludes the other already).
		if tx.Dialect() == store.Postgres {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, userID); err != nil {
				return err
			}
		}
		granted, _, err := p.consentOf(ctx, tx, userID, clientID)
		if err != nil {
			return err
		}
		for _, s := range ar.GetRequestedScopes() {
			if !slices.Contains(granted, s) {
				granted = append(granted, s)
			}
		}
		scopes, _ := json.Marshal(granted) // a []string always marshals
		if _, err := tx.Exec(ctx, `INSERT INTO oauth_consents (user_id, client_id, scopes, granted_at, updated_at)
			VALUES ($1, $2, $3, $4, $4) ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes,
			updated_at = excluded.updated_at`, userID, clientID, string(scopes), now); err != nil {
			return err
		}
		return p.d.Audit.Record(ctx, tx, audit.OAuthConsentGranted(userID, clientID, granted))
	})
}

// ConnectedApp is an app the user has let in, as the account page lists it.
type ConnectedApp struct {
	ClientID  string
	Name      string
	Scopes    []string
	GrantedAt time.Time
}

// ConnectedApps lists the apps the user has consented to, newest first.
func (p *Provider) ConnectedApps(ctx context.Context, userID string) ([]ConnectedApp, error) {
	rows, err := p.d.DB.Query(ctx, `SELECT c.client_id, c.scopes, c.granted_at FROM oauth_consents c
		WHERE c.user_id = $1 ORDER BY c.granted_at DESC, c.client_id LIMIT 500`, userID)
	if err != nil {
		return nil, fmt.Errorf("oauth: connected apps: %w", err)
	}
	apps, err := store.CollectRows(rows, func(r *store.Rows) (ConnectedApp, error) {
		var (
			a      ConnectedApp
			scopes string
		)
		if err := r.Scan(&a.ClientID, &scopes, &a.GrantedAt); err != nil {
			return a, err
		}
		return a, json.Unmarshal([]byte(scopes), &a.Scopes)
	})
	if err != nil {
		return nil, fmt.Errorf("oauth: connected apps: %w", err)
	}
	for i := range apps {
		c, err := p.d.Clients.Lookup(ctx, apps[i].ClientID)
		if errors.Is(err, clients.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("oauth: connected apps: %w", err)
		}
		apps[i].Name = c.Name
	}
	return apps, nil
}

// RevokeConsent withdraws the user's consent to the client and ends every token the
// client holds for the user.
func (p *Provider) RevokeConsent(ctx context.Context, userID, clientID string) error {
	return p.d.DB.Tx(ctx, func(tx *store.Tx) error {
		n, err := tx.Exec(ctx, `DELETE FROM oauth_consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
		if err != nil || n == 0 {
			return err
		}
		for _, q := range []string{`DELETE FROM oauth_refresh_tokens WHERE user_id = $1 AND client_id = $2`,
			`DELETE FROM oauth_access_tokens WHERE user_id = $1 AND client_id = $2`} {
			if _, err := tx.Exec(ctx, q, userID, clientID); err != nil {
				return err
			}
		}
		learn, err := p.revocations.add(ctx, tx, consentKey(userID, clientID))
		if err != nil {
			return err
		}
		tx.AfterCommit(learn)
		return p.d.Audit.Record(ctx, tx, audit.OAuthConsentRevoked(userID, clientID))
	})
}
