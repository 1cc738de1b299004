package oauth

import (
	"context"
	"net/url"
	"slices"
	"strings"
)

// FormTargets are the Content-Security-Policy sources (origins, or a scheme for a native
// app's private-use redirect) a page may send the browser to when its form leads to
// returnTo: a continued authorization ends at one of the client's redirect URIs, an
// app's sign-out at one of its post-logout redirect URIs. Anything else leads nowhere
// beyond identityd.
func (p *Provider) FormTargets(ctx context.Context, returnTo string) []string {
	u, err := url.Parse(returnTo)
	if err != nil || u.IsAbs() {
		return nil
	}
	clientID := u.Query().Get("client_id")
	if clientID == "" {
		return nil
	}
	var uris []string
	switch u.Path {
	case AuthorizePath, EndSessionPath:
		c, err := p.d.Clients.Lookup(ctx, clientID)
		if err != nil {
			return nil
		}
		uris = c.RedirectURIs
		if u.Path == EndSessionPath {
			uris = c.PostLogoutRedirectURIs
		}
	default:
		return nil
	}
	var sources []string
	for _, raw := range uris {
		if s := cspSource(raw); s != "" && !slices.Contains(sources, s) {
			sources = append(sources, s)
		}
	}
	return sources
}

// cspSource is the CSP source expression that allows uri: its origin for http and https,
// its scheme for a private-use scheme. Registered URIs are visible ASCII with no
// whitespace or quotes, so nothing here can end the directive.
func cspSource(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" || strings.ContainsAny(uri, " ;,'\"") {
		return ""
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		if u.Host == "" {
			return ""
		}
		return u.Scheme + "://" + u.Host
	}
	return u.Scheme + ":"
}
