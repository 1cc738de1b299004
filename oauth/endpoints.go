package oauth

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// The provider's endpoints, on the public listener. Discovery advertises them all.
const (
	AuthorizePath        = "/oauth2/auth"
	TokenPath            = "/oauth2/token"
	IntrospectPath       = "/oauth2/introspect"
	RevokePath           = "/oauth2/revoke"
	PushedAuthorizePath  = "/oauth2/par"
	EndSessionPath       = "/oauth2/logout"
	UserinfoPath         = "/userinfo"
	JWKSPath             = "/.well-known/jwks.json"
	OpenIDDiscoveryPath  = "/.well-known/openid-configuration"
	OAuthMetadataPath    = "/.well-known/oauth-authorization-server"
	maxEndpointFormBytes = 64 << 10
)

// Register adds the provider's endpoints to mux.
func (p *Provider) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+AuthorizePath, p.authorize)
	mux.HandleFunc("POST "+AuthorizePath, p.authorize)
	mux.HandleFunc("POST "+TokenPath, p.token)
	mux.HandleFunc("POST "+IntrospectPath, p.introspect)
	mux.HandleFunc("POST "+RevokePath, p.revoke)
	mux.HandleFunc("POST "+PushedAuthorizePath, p.pushedAuthorize)
	mux.HandleFunc("GET "+EndSessionPath, p.endSession)
	mux.HandleFunc("POST "+EndSessionPath, p.endSession)
	mux.HandleFunc("GET "+UserinfoPath, p.userinfo)
	mux.HandleFunc("POST "+UserinfoPath, p.userinfo)
	mux.HandleFunc("GET "+JWKSPath, p.jwks)
	mux.HandleFunc("GET "+OpenIDDiscoveryPath, p.discovery)
	mux.HandleFunc("GET "+OAuthMetadataPath, p.discovery)
}

// randomString is n random bytes, base64url: handles for requests identityd keeps.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand never fails short
	return base64.RawURLEncoding.EncodeToString(b)
}

// limitForm bounds the body an endpoint reads: fosite parses forms itself, with a
// multipart allowance far beyond what any OAuth request needs.
func limitForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxEndpointFormBytes)
}
