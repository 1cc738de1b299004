package oauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	"github.com/ory/fosite"
)

// keptParameters are the request parameters stored with a request: what fosite reads
// back in a later step (the redirect URI a code was issued for, the PKCE challenge, the
// nonce, …). Everything else — client secrets and assertions, code verifiers, codes,
// refresh tokens, passwords — is dropped before anything is written.
var keptParameters = []string{
	"client_id", "redirect_uri", "response_type", "response_mode", "scope", "state", "nonce", "prompt",
	"max_age", "acr_values", "code_challenge", "code_challenge_method", "audience", "login_hint", "ui_locales",
}

// storedRequest is a fosite request as the database keeps it.
type storedRequest struct {
	ID                string          `json:"id"`
	RequestedAt       time.Time       `json:"requested_at"`
	ClientID          string          `json:"client_id"`
	RequestedScope    []string        `json:"requested_scope"`
	GrantedScope      []string        `json:"granted_scope"`
	RequestedAudience []string        `json:"requested_audience"`
	GrantedAudience   []string        `json:"granted_audience"`
	Form              url.Values      `json:"form"`
	Session           json.RawMessage `json:"session"`
	// The authorization request's own parts, for pushed authorization requests.
	ResponseTypes       []string `json:"response_types,omitempty"`
	RedirectURI         string   `json:"redirect_uri,omitempty"`
	State               string   `json:"state,omitempty"`
	ResponseMode        string   `json:"response_mode,omitempty"`
	DefaultResponseMode string   `json:"default_response_mode,omitempty"`
}

// encodeRequest serialises r for storage.
func encodeRequest(r fosite.Requester) ([]byte, error) {
	form := url.Values{}
	for _, k := range keptParameters {
		if v, ok := r.GetRequestForm()[k]; ok {
			form[k] = v
		}
	}
	sess, err := json.Marshal(r.GetSession())
	if err != nil {
		return nil, fmt.Errorf("encode session: %w", err)
	}
	sr := storedRequest{ID: r.GetID(), RequestedAt: r.GetRequestedAt(), ClientID: r.GetClient().GetID(),
		RequestedScope: r.GetRequestedScopes(), GrantedScope: r.GetGrantedScopes(),
		RequestedAudience: r.GetRequestedAudience(), GrantedAudience: r.GetGrantedAudience(), Form: form, Session: sess}
	if ar, ok := r.(fosite.AuthorizeRequester); ok {
		sr.ResponseTypes = ar.GetResponseTypes()
		if u := ar.GetRedirectURI(); u != nil {
			sr.RedirectURI = u.String()
		}
		sr.State = ar.GetState()
		sr.ResponseMode = string(ar.GetResponseMode())
		sr.DefaultResponseMode = string(ar.GetDefaultResponseMode())
	}
	b, err := json.Marshal(sr)
	if err != nil {
		return nil, fmt.Errorf("encode request: %w", err)
	}
	return b, nil
}

// decodeRequest restores a stored request, with its client as it is now and its session
// read into session (a fresh one when nil). A client deleted since is fosite.ErrNotFound.
func (s *Storage) decodeRequest(ctx context.Context, data []byte, session fosite.Session) (*fosite.Request, storedRequest, error) {
	var sr storedRequest
	if err := json.Unmarshal(data, &sr); err != nil {
		return nil, sr, fmt.Errorf("decode request: %w", err)
	}
	c, err := s.GetClient(ctx, sr.ClientID)
	if err != nil {
		return nil, sr, err
	}
	if session == nil {
		session = newSession()
	}
	if err := json.Unmarshal(sr.Session, session); err != nil {
		return nil, sr, fmt.Errorf("decode session: %w", err)
	}
	r := fosite.NewRequest()
	r.ID, r.RequestedAt, r.Client, r.Session, r.Form = sr.ID, sr.RequestedAt, c, session, sr.Form
	r.RequestedScope, r.GrantedScope = sr.RequestedScope, sr.GrantedScope
	r.RequestedAudience, r.GrantedAudience = sr.RequestedAudience, sr.GrantedAudience
	if r.Form == nil {
		r.Form = url.Values{}
	}
	return r, sr, nil
}

// decodeAuthorizeRequest restores a stored authorization request (a pushed one).
func (s *Storage) decodeAuthorizeRequest(ctx context.Context, data []byte) (fosite.AuthorizeRequester, error) {
	r, sr, err := s.decodeRequest(ctx, data, nil)
	if err != nil {
		return nil, err
	}
	ar := fosite.NewAuthorizeRequest()
	ar.Request = *r
	ar.ResponseTypes = sr.ResponseTypes
	ar.State = sr.State
	ar.ResponseMode = fosite.ResponseModeType(sr.ResponseMode)
	ar.DefaultResponseMode = fosite.ResponseModeType(sr.DefaultResponseMode)
	if sr.RedirectURI != "" {
		u, err := url.Parse(sr.RedirectURI)
		if err != nil {
			return nil, fmt.Errorf("decode redirect uri: %w", err)
		}
		ar.RedirectURI = u
	}
	return ar, nil
}
