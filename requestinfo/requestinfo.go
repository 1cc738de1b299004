// Package requestinfo carries what is known about the HTTP request being served — its id,
// the client's address, its user agent, the route it matched — from the server's
// middleware to the code that logs or records it (access logs, audit events, error
// reports). It holds facts about the request only, never services.
package requestinfo

import (
	"context"
	"net/netip"
)

// Info describes one request. The server's middleware creates it; Route is filled in
// once the router has matched.
type Info struct {
	// ID is the request id, echoed to the client in X-Request-Id.
	ID string
	// ClientIP is the client's address, from X-Forwarded-For only when the connection
	// comes from a trusted proxy.
	ClientIP netip.Addr
	// UserAgent is the client's User-Agent header, truncated.
	UserAgent string
	// Route is the matched route pattern ("GET /v1/status"), or "" before routing and
	// for requests that matched none.
	Route string
	// Actor is who the request acts as, once authentication has said; the zero Actor
	// before.
	Actor Actor
}

// Actor is who performs an action: a person, an OAuth client, an admin token, or
// identityd itself.
type Actor struct {
	Kind ActorKind `json:"kind"`
	ID   string    `json:"id"`
}

// ActorKind names the kinds of actor.
type ActorKind string

// The kinds of actor.
const (
	ActorUser       ActorKind = "user"
	ActorClient     ActorKind = "client"
	ActorAdminToken ActorKind = "admin_token"
	ActorSystem     ActorKind = "system"
)

// System is identityd acting on its own: at start-up, in background jobs.
var System = Actor{Kind: ActorSystem, ID: "identityd"}

// CLI is an operator acting through the identityd command line on the host.
var CLI = Actor{Kind: ActorSystem, ID: "cli"}

type key struct{}

// With returns ctx carrying info.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, key{}, info)
}

// Ensure returns ctx carrying an Info — the one already there, or a new empty one — and
// that Info, for code that must record facts (the actor) even when no middleware ran.
func Ensure(ctx context.Context) (context.Context, *Info) {
	if info, ok := ctx.Value(key{}).(*Info); ok {
		return ctx, info
	}
	info := &Info{}
	return With(ctx, info), info
}

// From returns the request's Info, or an empty one outside a request, so callers need
// not check.
func From(ctx context.Context) *Info {
	if info, ok := ctx.Value(key{}).(*Info); ok {
		return info
	}
	return &Info{}
}
