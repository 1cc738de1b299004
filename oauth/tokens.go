package oauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v3"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/token/jwt"

	"github.com/identityd/identityd/clients"
	"github.com/identityd/identityd/signingkeys"
)

// Token prefixes: secret scanners and people recognise identityd's tokens by them.
const (
	prefixAccessToken  = "idd_at_"
	prefixRefreshToken = "idd_rt_"
	prefixCode         = "idd_ac_"
)

// jwtSignaturePrefix marks the handle of a JWT access token, which storage keeps no row
// for: JWT access tokens are self-contained.
const jwtSignaturePrefix = "jwt:"

// accessClaims are a JWT access token's claims (RFC 9068 §2.2).
type accessClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  []string `json:"aud"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope,omitempty"`
	JTI       string   `json:"jti"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	AuthTime  int64    `json:"auth_time,omitempty"`
	ACR       string   `json:"acr,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	// SessionID is the sign-in session the token was issued in, for user tokens: ending
	// that session by an admin revokes the tokens issued in it.
	SessionID string `json:"sid,omitempty"`
}

// userID is the user the token acts for, or "" for a client acting for itself, whose
// tokens have the client as their subject (RFC 9068 §2.2).
func (c accessClaims) userID() string {
	if c.Subject == c.ClientID {
		return ""
	}
	return c.Subject
}

// tokenStrategy makes and checks identityd's tokens for fosite: JWT access tokens (RFC
// 9068, signed with the current signing key) unless the client chose opaque ones, and
// opaque HMAC tokens for everything else.
type tokenStrategy struct {
	hmac   *oauth2.HMACSHAStrategyUnPrefixed
	keys   *signingkeys.Service
	alg    signingkeys.Alg
	issuer string
	now    func() time.Time

	mu      sync.Mutex
	signers map[string]jose.Signer // by kid: a jose signer is costly to make
}

var _ oauth2.CoreStrategy = (*tokenStrategy)(nil)

// jti makes a JWT id that names its grant: "<request id>.<random>". Revoking a grant
// then reaches its JWT access tokens without a row per token.
func jti(requestID string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand never fails short
	return requestID + "." + base64.RawURLEncoding.EncodeToString(b)
}

// grantOf returns the grant a jti names.
func grantOf(jti string) string {
	g, _, _ := strings.Cut(jti, ".")
	return g
}

func (t *tokenStrategy) signer(key *signingkeys.Key, s crypto.Signer, typ string) (jose.Signer, error) {
	id := key.ID + "|" + typ
	t.mu.Lock()
	defer t.mu.Unlock()
	if js, ok := t.signers[id]; ok {
		return js, nil
	}
	// jose signs with the key itself (the signing keys are *ecdsa.PrivateKey and
	// *rsa.PrivateKey underneath), which is its fast path.
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	js, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Alg),
		Key: jose.JSONWebKey{Key: s, KeyID: key.ID}}, opts)
	if err != nil {
		return nil, fmt.Errorf("oauth: signer for %s: %w", key.ID, err)
	}
	if t.signers == nil {
		t.signers = map[string]jose.Signer{}
	}
	t.signers[id] = js
	return js, nil
}

// sign signs claims with the current key for alg as a JWT of type typ.
func (t *tokenStrategy) sign(alg signingkeys.Alg, typ string, claims any) (string, error) {
	key, s, err := t.keys.Signing(alg)
	if err != nil {
		return "", fmt.Errorf("oauth: sign: %w", err)
	}
	js, err := t.signer(key, s, typ)
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("oauth: sign: %w", err)
	}
	obj, err := js.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("oauth: sign: %w", err)
	}
	return obj.CompactSerialize()
}

// AccessTokenSignature is the handle storage knows an access token by.
func (t *tokenStrategy) AccessTokenSignature(ctx context.Context, token string) string {
	if rest, ok := strings.CutPrefix(token, prefixAccessToken); ok {
		return t.hmac.AccessTokenSignature(ctx, rest)
	}
	if c, err := unverifiedClaims(token); err == nil && c.JTI != "" {
		return jwtSignaturePrefix + c.JTI
	}
	return ""
}

// GenerateAccessToken makes an access token for r.
func (t *tokenStrategy) GenerateAccessToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	if c, ok := r.GetClient().(*client); ok && c.c.AccessTokenFormat == clients.FormatOpaque {
		tok, sig, err := t.hmac.GenerateAccessToken(ctx, r)
		if err != nil {
			return "", "", err
		}
		return prefixAccessToken + tok, sig, nil
	}
	claims := t.accessClaims(r)
	tok, err := t.sign(t.alg, "at+jwt", claims)
	if err != nil {
		return "", "", err
	}
	return tok, jwtSignaturePrefix + claims.JTI, nil
}

// accessClaims are the claims of r's JWT access token.
func (t *tokenStrategy) accessClaims(r fosite.Requester) accessClaims {
	now := t.now().UTC()
	exp := r.GetSession().GetExpiresAt(fosite.AccessToken)
	if exp.IsZero() {
		exp = now.Add(time.Hour)
	}
	aud := []string(r.GetGrantedAudience())
	if len(aud) == 0 {
		aud = []string{r.GetClient().GetID()}
	}
	c := accessClaims{Issuer: t.issuer, Audience: aud, ClientID: r.GetClient().GetID(),
		Scope: strings.Join(r.GetGrantedScopes(), " "), JTI: jti(r.GetID()), IssuedAt: now.Unix(), ExpiresAt: exp.Unix()}
	if s, ok := r.GetSession().(*Session); ok && s.UserID != "" {
		c.Subject = s.UserID
		c.AMR, c.ACR, c.SessionID = s.Methods, s.ACR, s.SessionID
		if !s.AuthTime.IsZero() {
			c.AuthTime = s.AuthTime.Unix()
		}
	} else {
		c.Subject = r.GetClient().GetID()
	}
	return c
}

// ValidateAccessToken checks a token's signature and expiry.
func (t *tokenStrategy) ValidateAccessToken(ctx context.Context, r fosite.Requester, token string) error {
	if rest, ok := strings.CutPrefix(token, prefixAccessToken); ok {
		return t.hmac.ValidateAccessToken(ctx, r, rest)
	}
	if _, err := t.verifyAccessToken(token); err != nil {
		return fosite.ErrTokenSignatureMismatch.WithWrap(err)
	}
	return nil
}

// RefreshTokenSignature is the handle storage knows a refresh token by.
func (t *tokenStrategy) RefreshTokenSignature(ctx context.Context, token string) string {
	return t.hmac.RefreshTokenSignature(ctx, strings.TrimPrefix(token, prefixRefreshToken))
}

// GenerateRefreshToken makes a refresh token.
func (t *tokenStrategy) GenerateRefreshToken(ctx context.Context, r fosite.Requester) (string, string, error) {
	tok, sig, err := t.hmac.GenerateRefreshToken(ctx, r)
	if err != nil {
		return "", "", err
	}
	return prefixRefreshToken + tok, sig, nil
}

// ValidateRefreshToken checks a refresh token's signature and expiry.
func (t *tokenStrategy) ValidateRefreshToken(ctx context.Context, r fosite.Requester, token string) error {
	return t.hmac.ValidateRefreshToken(ctx, r, strings.TrimPrefix(token, prefixRefreshToken))
}

// AuthorizeCodeSignature is the handle storage knows a code by.
func (t *tokenStrategy) AuthorizeCodeSignature(ctx context.Context, token string) string {
	return t.hmac.AuthorizeCodeSignature(ctx, strings.TrimPrefix(token, prefixCode))
}

// GenerateAuthorizeCode makes an authorization code.
func (t *tokenStrategy) GenerateAuthorizeCode(ctx context.Context, r fosite.Requester) (string, string, error) {
	tok, sig, err := t.hmac.GenerateAuthorizeCode(ctx, r)
	if err != nil {
		return "", "", err
	}
	return prefixCode + tok, sig, nil
}

// ValidateAuthorizeCode checks a code's signature and expiry.
func (t *tokenStrategy) ValidateAuthorizeCode(ctx context.Context, r fosite.Requester, token string) error {
	return t.hmac.ValidateAuthorizeCode(ctx, r, strings.TrimPrefix(token, prefixCode))
}

// errUntrustedToken is a JWT that is not one of identityd's valid ones.
var errUntrustedToken = errors.New("oauth: not a valid identityd token")

// verifyAccessToken checks a JWT access token's header, signature, issuer and expiry,
// and returns its claims. Only identityd's own algorithms and published keys are
// accepted: "none", an HMAC keyed with a public key, or an unknown kid never verify.
func (t *tokenStrategy) verifyAccessToken(token string) (accessClaims, error) {
	var c accessClaims
	jws, err := jose.ParseSigned(token)
	if err != nil || len(jws.Signatures) != 1 {
		return c, errUntrustedToken
	}
	h := jws.Signatures[0].Protected
	key, err := t.keys.Verification(h.KeyID)
	if err != nil || string(key.Alg) != h.Algorithm || h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		return c, errUntrustedToken
	}
	payload, err := jws.Verify(key.Public)
	if err != nil {
		return c, errUntrustedToken
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Issuer != t.issuer || c.JTI == "" {
		return c, errUntrustedToken
	}
	if !t.now().Before(time.Unix(c.ExpiresAt, 0)) {
		return c, fosite.ErrTokenExpired
	}
	return c, nil
}

// unverifiedClaims reads a JWT's claims without checking anything, for finding a
// token's handle; nothing read this way is trusted.
func unverifiedClaims(token string) (accessClaims, error) {
	var c accessClaims
	parts := strings.Split(token, ".")
	if len(parts) != 3 || len(parts[1]) > 8<<10 {
		return c, errUntrustedToken
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return c, errUntrustedToken
	}
	return c, json.Unmarshal(payload, &c)
}

// idTokenSigner signs and checks ID tokens for fosite's OpenID Connect handlers, with
// the current key of the algorithm the client registered (RS256 unless it asked for
// ES256) and its kid.
type idTokenSigner struct {
	t       *tokenStrategy
	clients *clients.Service
}

var _ jwt.Signer = idTokenSigner{}

func (i idTokenSigner) Generate(ctx context.Context, claims jwt.MapClaims, _ jwt.Mapper) (string, string, error) {
	tok, err := i.t.sign(i.algFor(ctx, claims), "JWT", map[string]any(claims))
	if err != nil {
		return "", "", err
	}
	return tok, tok[strings.LastIndexByte(tok, '.')+1:], nil
}

// algFor is the algorithm for an ID token with claims: the one its client registered.
// fosite puts the client's id in aud (an ID token's audience is the client it is for);
// the first audience that names a client decides, and RS256 — which every OpenID
// Connect client accepts — serves when none does.
func (i idTokenSigner) algFor(ctx context.Context, claims jwt.MapClaims) signingkeys.Alg {
	var auds []string
	switch a := claims["aud"].(type) {
	case string:
		auds = []string{a}
	case []string:
		auds = a
	case []any:
		for _, v := range a {
			if s, ok := v.(string); ok {
				auds = append(auds, s)
			}
		}
	}
	for _, id := range auds {
		if c, err := i.clients.Lookup(ctx, id); err == nil {
			return idTokenAlg(c)
		}
	}
	return signingkeys.RS256
}

// idTokenAlg is the algorithm of c's ID tokens and back-channel logout tokens.
func idTokenAlg(c clients.Client) signingkeys.Alg {
	if c.IDTokenSignedResponseAlg == clients.AlgES256 {
		return signingkeys.ES256
	}
	return signingkeys.RS256
}

// verifyIDTokenKey is the public key that verifies an ID token of identityd's whose
// header names alg and kid: a published key of that algorithm, one of the two ID tokens
// are signed with.
func (t *tokenStrategy) verifyIDTokenKey(alg, kid string) (any, error) {
	if alg != string(signingkeys.RS256) && alg != string(signingkeys.ES256) {
		return nil, errUntrustedToken
	}
	key, err := t.keys.Verification(kid)
	if err != nil || string(key.Alg) != alg {
		return nil, errUntrustedToken
	}
	return key.Public, nil
}

func (i idTokenSigner) Validate(ctx context.Context, token string) (string, error) {
	if _, err := i.Decode(ctx, token); err != nil {
		return "", err
	}
	return token[strings.LastIndexByte(token, '.')+1:], nil
}

func (i idTokenSigner) Hash(_ context.Context, in []byte) ([]byte, error) {
	sum := sha256.Sum256(in)
	return sum[:], nil
}

// Decode parses and verifies an ID token of identityd's (an id_token_hint): RS256 or
// ES256 with a published key of that algorithm only.
func (i idTokenSigner) Decode(_ context.Context, token string) (*jwt.Token, error) {
	return jwt.Parse(token, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		return i.t.verifyIDTokenKey(string(t.Method), kid)
	})
}

func (i idTokenSigner) GetSignature(_ context.Context, token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errUntrustedToken
	}
	return parts[2], nil
}

func (i idTokenSigner) GetSigningMethodLength(context.Context) int { return sha256.Size }
