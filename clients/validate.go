package clients

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/identityd/identityd/validation"
)

// Limits on what a client may hold. They are generous for real apps and keep a single
// registration, which the token path reads on every request, small.
const (
	MaxNameRunes       = 100
	MaxRedirectURIs    = 20
	MaxScopes          = 50
	MaxAudience        = 20
	MaxURIBytes        = 2048
	maxAudienceBytes   = 256
	MinTokenLifetime   = time.Minute
	MaxAccessLifetime  = 24 * time.Hour
	MaxRefreshLifetime = 8760 * time.Hour
	MaxIDTokenLifetime = 24 * time.Hour
)

// customScope is what the operator's own scopes look like: lower case, no spaces (a
// scope parameter is space-separated), short enough for a consent screen.
var customScope = regexp.MustCompile(`^[a-z0-9][a-z0-9._:-]{0,63}$`)

// FieldError is one reason one field was refused, in words for the caller. Field is the
// registration's name for it (redirect_uris, jwks_uri), with an index for one item of a
// list (redirect_uris[2], jwks.keys[0]).
type FieldError = validation.FieldError

// ValidationError lists every field that was refused, so a caller can fix them all at
// once.
type ValidationError = validation.Error

// fieldErrors collects refusals while a registration is checked.
type fieldErrors = validation.Fields

// scope begins the messages of this package's validation errors.
const scope = "clients"

// prepare applies the defaults to c and checks the whole registration, so that rules
// between fields hold whichever of them a change touched. It re-encodes c.JWKS from the
// keys it parsed, so that what is stored is exactly what was checked. c.Public must be
// set.
func (s *Service) prepare(c *Client) error {
	var errs fieldErrors
	if c.TokenEndpointAuthMethod == "" {
		c.TokenEndpointAuthMethod = AuthClientSecretBasic
		if c.Public {
			c.TokenEndpointAuthMethod = AuthNone
		}
	}
	if c.AccessTokenFormat == "" {
		c.AccessTokenFormat = FormatJWT
	}
	if c.IDTokenSignedResponseAlg == "" {
		c.IDTokenSignedResponseAlg = AlgRS256
	}
	c.RedirectURIs, c.PostLogoutRedirectURIs = list(c.RedirectURIs), list(c.PostLogoutRedirectURIs)
	c.GrantTypes, c.Scopes, c.Audience = list(c.GrantTypes), list(c.Scopes), list(c.Audience)
	if len(c.JWKS) == 0 {
		c.JWKS = nil
	}

	if reason := checkName(c.Name); reason != "" {
		errs.Add("name", reason)
	}
	redirect := func(raw string) string { return s.checkRedirectURI(raw, c.Public) }
	checkList(&errs, "redirect_uris", c.RedirectURIs, MaxRedirectURIs, redirect)
	checkList(&errs, "post_logout_redirect_uris", c.PostLogoutRedirectURIs, MaxRedirectURIs, redirect)
	checkGrantTypes(&errs, c)
	checkList(&errs, "scopes", c.Scopes, MaxScopes, s.checkScope)
	checkList(&errs, "audience", c.Audience, MaxAudience, checkAudience)
	s.checkAuthentication(&errs, c)
	if c.AccessTokenFormat != FormatJWT && c.AccessTokenFormat != FormatOpaque {
		errs.Add("access_token_format", `must be "jwt" or "opaque"`)
	}
	checkLifetime(&errs, "access_token_lifetime", c.AccessTokenLifetime, MaxAccessLifetime)
	checkLifetime(&errs, "refresh_token_lifetime", c.RefreshTokenLifetime, MaxRefreshLifetime)
	checkLifetime(&errs, "id_token_lifetime", c.IDTokenLifetime, MaxIDTokenLifetime)
	if c.IDTokenSignedResponseAlg != AlgRS256 && c.IDTokenSignedResponseAlg != AlgES256 {
		errs.Add("id_token_signed_response_alg", `must be "RS256" or "ES256"`)
	}
	if c.BackchannelLogoutURI != "" {
		if reason := s.checkBackchannelURI(c.BackchannelLogoutURI); reason != "" {
			errs.Add("backchannel_logout_uri", reason)
		}
	}
	if c.IntrospectAnyToken && c.Public {
		// Introspection needs an authenticated caller (RFC 7662 §2.1); anyone can claim
		// to be a public client.
		errs.Add("introspect_any_token", "is only for confidential clients: a public client cannot authenticate")
	}
	return errs.Err(scope)
}

// list is s as stored: never nil, so that an empty list is [] in JSON, not null.
func list(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// checkName returns why a client's name is refused, or "".
func checkName(name string) string {
	switch {
	case name == "":
		return "is required"
	case !utf8.ValidString(name):
		return "must be valid UTF-8"
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return fmt.Sprintf("must be at most %d characters", MaxNameRunes)
	case strings.TrimSpace(name) != name:
		return "must not start or end with spaces"
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "must contain only printable characters"
		}
	}
	return ""
}

// checkList checks a list field: its length, each item with check (which returns why
// an item is refused, or ""), and that no item repeats. A list over its limit is refused
// as a whole, so that a huge one costs no work per item and yields one error.
func checkList(errs *fieldErrors, field string, items []string, limit int, check func(string) string) {
	if len(items) > limit {
		errs.Add(field, fmt.Sprintf("must hold at most %d entries", limit))
		return
	}
	seen := make(map[string]int, len(items))
	for i, item := range items {
		name := fmt.Sprintf("%s[%d]", field, i)
		if j, ok := seen[item]; ok {
			errs.Add(name, fmt.Sprintf("repeats %s[%d]", field, j))
			continue
		}
		seen[item] = i
		if reason := check(item); reason != "" {
			errs.Add(name, reason)
		}
	}
}

// checkGrantTypes checks the grant types and the rules that tie them to the rest.
func checkGrantTypes(errs *fieldErrors, c *Client) {
	has := map[string]bool{}
	checkList(errs, "grant_types", c.GrantTypes, 3, func(g string) string {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
			has[g] = true
			return ""
		}
		return "must be authorization_code, refresh_token or client_credentials"
	})
	if len(c.GrantTypes) == 0 {
		errs.Add("grant_types", "must hold at least one grant type")
	}
	if has[GrantClientCredentials] && c.Public {
		// A public client cannot keep a credential, so a token it got on its own
		// behalf would be anyone's (OAuth 2.1 §4.2).
		errs.Add("grant_types", "client_credentials is only for confidential clients")
	}
	if has[GrantRefreshToken] && !has[GrantAuthorizationCode] {
		errs.Add("grant_types", "refresh_token needs authorization_code: refresh tokens are issued with authorization codes")
	}
	if has[GrantAuthorizationCode] && len(c.RedirectURIs) == 0 {
		errs.Add("redirect_uris", "must hold at least one URI for the authorization_code grant")
	}
}

// checkScope returns why a scope is refused, or "".
func (s *Service) checkScope(scope string) string {
	if s.known[scope] || customScope.MatchString(scope) {
		return ""
	}
	return "must be a scope identityd defines or 1 to 64 characters of a-z, 0-9 and . _ : - (not first), like invoices:read"
}

// checkAudience returns why a resource server identifier is refused, or "". Audiences
// travel space-separated in token requests and as the aud claim, so they hold no spaces.
func checkAudience(aud string) string {
	if aud == "" || len(aud) > maxAudienceBytes {
		return fmt.Sprintf("must be 1 to %d characters", maxAudienceBytes)
	}
	if !visibleASCII(aud) {
		return "must hold only visible ASCII characters, without spaces"
	}
	return ""
}

// checkAuthentication checks how the client authenticates at the token endpoint, and
// the key set that private_key_jwt needs.
func (s *Service) checkAuthentication(errs *fieldErrors, c *Client) {
	const field = "token_endpoint_auth_method"
	switch m := c.TokenEndpointAuthMethod; {
	case c.Public && m != AuthNone:
		errs.Add(field, `must be "none" for a public client, which has no credentials`)
	case !c.Public && m == AuthNone:
		errs.Add(field, "a confidential client must authenticate: use client_secret_basic, client_secret_post or private_key_jwt")
	case !c.Public && !usesSecret(m) && m != AuthPrivateKeyJWT:
		errs.Add(field, "must be client_secret_basic, client_secret_post or private_key_jwt")
	}
	if c.TokenEndpointAuthMethod != AuthPrivateKeyJWT {
		if c.JWKS != nil {
			errs.Add("jwks", "is only for clients that authenticate with private_key_jwt")
		}
		if c.JWKSURI != "" {
			errs.Add("jwks_uri", "is only for clients that authenticate with private_key_jwt")
		}
		return
	}
	switch {
	case c.JWKS == nil && c.JWKSURI == "":
		errs.Add("jwks", "private_key_jwt needs the client's public keys: set jwks or jwks_uri")
	case c.JWKS != nil && c.JWKSURI != "":
		errs.Add("jwks_uri", "must not be set together with jwks: give the keys or where to fetch them, not both")
	case c.JWKS != nil:
		c.JWKS = checkJWKS(errs, c.JWKS)
	default:
		if reason := s.checkJWKSURI(c.JWKSURI); reason != "" {
			errs.Add("jwks_uri", reason)
		}
	}
}

// checkLifetime checks a token lifetime: 0 for the server's default, or whole seconds
// within bounds. Whole seconds because that is what tokens carry (exp) and what is
// stored.
func checkLifetime(errs *fieldErrors, field string, d, maxLifetime time.Duration) {
	switch {
	case d == 0:
	case d < MinTokenLifetime || d > maxLifetime:
		errs.Add(field, fmt.Sprintf("must be 0 (the server's default) or between %s and %s", fmtDuration(MinTokenLifetime), fmtDuration(maxLifetime)))
	case d%time.Second != 0:
		errs.Add(field, "must be a whole number of seconds")
	}
}

// fmtDuration writes whole hours or minutes without the trailing zero units of
// time.Duration's String ("24h", not "24h0m0s").
func fmtDuration(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return fmt.Sprintf("%dm", d/time.Minute)
}

// visibleASCII reports whether s holds only printable ASCII other than space.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
