package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/identityd/identityd/redact"
	"github.com/identityd/identityd/requestinfo"
)

// The event types identityd records. This catalogue is the one list of them: Record
// refuses types not in it, webhook filters are checked against it, and the README's
// table is generated from it.
const (
	TypeAdminTokenCreated  = "admin.token.created"
	TypeAdminTokenRevoked  = "admin.token.revoked"
	TypeAdminTokensExpired = "admin.token.expired_deleted"
	TypeAdminAuthFailed    = "admin.auth.failed"

	TypeAuditPruned           = "audit.pruned"
	TypeAuditTamperingSuspect = "audit.tampering.detected"

	TypeMigrationApplied  = "migration.applied"
	TypeMigrationReverted = "migration.reverted"

	TypeSystemStarted       = "system.started"
	TypeSystemStopped       = "system.stopped"
	TypeSystemConfigChanged = "system.config.changed"

	TypeWebhookCreated = "webhook.created"
	TypeWebhookUpdated = "webhook.updated"
	TypeWebhookDeleted = "webhook.deleted"

	TypeUserCreated               = "user.created"
	TypeUserUpdated               = "user.updated"
	TypeUserDisabled              = "user.disabled"
	TypeUserEnabled               = "user.enabled"
	TypeUserDeleted               = "user.deleted"
	TypeUserImported              = "user.import.finished"
	TypeUserLoginSucceeded        = "user.login.succeeded"
	TypeUserLoginFailed           = "user.login.failed"
	TypeUserLoginBlocked          = "user.login.network_blocked"
	TypeUserLocked                = "user.locked"
	TypeUserUnlocked              = "user.unlocked"
	TypeUserFailuresCleared       = "user.failures_cleared"
	TypeUserPasswordSet           = "user.password.set"
	TypeUserPasswordChanged       = "user.password.changed"
	TypeUserPasswordReset         = "user.password.reset"
	TypeUserPasswordResetSent     = "user.password.reset_requested"
	TypeUserPasswordUpgraded      = "user.password.upgraded"
	TypeUserEmailVerificationSent = "user.email.verification_sent"
	TypeUserEmailVerified         = "user.email.verified"

	// Sessions (package sessions).
	TypeSessionCreated         = "session.created"
	TypeSessionRevoked         = "session.revoked"
	TypeSessionsExpiredDeleted = "session.expired_deleted"

	// OAuth clients (package clients).
	TypeClientCreated       = "client.created"
	TypeClientUpdated       = "client.updated"
	TypeClientDeleted       = "client.deleted"
	TypeClientSecretRotated = "client.secret_rotated"

	// Signing keys (package signingkeys).
	TypeSigningKeyCreated = "signing_key.created"
	TypeSigningKeyRetired = "signing_key.retired"
	TypeSigningKeyDeleted = "signing_key.deleted"
	TypeSigningKeyRotated = "signing_key.rotated"

	// OAuth 2 and OpenID Connect (package oauth).
	TypeOAuthAuthorized     = "oauth.authorized"
	TypeOAuthTokenIssued    = "oauth.token.issued"
	TypeOAuthTokenRefreshed = "oauth.token.refreshed"
	TypeOAuthTokenRevoked   = "oauth.token.revoked"
	TypeOAuthTokenReused    = "oauth.token.reused"
	TypeOAuthTokensRevoked  = "oauth.tokens.revoked"
	TypeOAuthConsentGranted = "oauth.consent.granted"
	TypeOAuthConsentRevoked = "oauth.consent.revoked"
	TypeOAuthLogout         = "oauth.logout"
	TypeOAuthLogoutFailed   = "oauth.logout.delivery_failed"
	TypeOAuthExpiredDeleted = "oauth.expired_deleted"
)

// TypeInfo describes one event type.
type TypeInfo struct {
	Name        string
	Description string
}

var catalogue = []TypeInfo{
	{TypeAdminTokenCreated, "An admin API token was created (by the CLI or the API)."},
	{TypeAdminTokenRevoked, "An admin API token was revoked."},
	{TypeAdminTokensExpired, "The cleanup job deleted expired admin tokens; details hold how many."},
	{TypeAdminAuthFailed, "A management API request presented an invalid, expired or revoked admin token."},
	{TypeAuditPruned, "Retention pruned sealed events; details hold the last pruned sequence number."},
	{TypeAuditTamperingSuspect, "The sealer refused a pending event whose MAC is wrong: a forged or altered record."},
	{TypeMigrationApplied, "A database schema migration was applied."},
	{TypeMigrationReverted, "A database schema migration was reverted."},
	{TypeSystemStarted, "identityd started serving; details hold its version and non-secret settings."},
	{TypeSystemStopped, "identityd shut down gracefully."},
	{TypeSystemConfigChanged, "identityd started with settings that differ from its previous start; details name each change (secret values only as changed)."},
	{TypeWebhookCreated, "A webhook subscription was created; details hold its event types and its URL as origin (scheme, host, port) and url_sha256 (of the whole URL), never the path or query, which may hold the receiver's token."},
	{TypeWebhookUpdated, "A webhook subscription was changed; details name what changed (URL as origin and url_sha256, event types, enabled, secret — never the secret itself)."},
	{TypeWebhookDeleted, "A webhook subscription was deleted; details hold its URL as origin and url_sha256."},
	{TypeUserCreated, "A user account was created; details say how (api, cli, import), whether the address is verified, and whether the user can sign in with a password (sign_in). No email address or other personal data is recorded, so erasing a user leaves none in the log."},
	{TypeUserUpdated, "A user's profile changed; details name the fields, not their values."},
	{TypeUserDisabled, "A user was disabled: they can no longer sign in, and their sessions and tokens are revoked."},
	{TypeUserEnabled, "A disabled user was enabled again."},
	{TypeUserDeleted, "A user account was deleted."},
	{TypeUserImported, "A bulk import finished; details hold how many users were created, skipped (already present) and rejected."},
	{TypeUserLoginSucceeded, "A user signed in with their password."},
	{TypeUserLoginFailed, "A sign-in failed; details hold the reason (wrong_password, unknown_user, throttled, locked, disabled, no_password). The identifier typed is not recorded: people type passwords into it."},
	{TypeUserLoginBlocked, "A network (an IPv4 address or IPv6 /64) reached the failed sign-in limit; further attempts from it are refused until the window passes."},
	{TypeUserLocked, "A user was locked after too many failed sign-ins; an email tells them."},
	{TypeUserUnlocked, "A locked user was unlocked, by an admin or by resetting their password."},
	{TypeUserFailuresCleared, "An admin cleared the failed sign-ins of a user who was not locked, and the waiting they imposed."},
	{TypeUserPasswordSet, "An admin set a user's password; the user's sessions and tokens are revoked."},
	{TypeUserPasswordChanged, "A user changed their password, giving the current one."},
	{TypeUserPasswordReset, "A user set a new password with a reset link; their sessions and tokens are revoked."},
	{TypeUserPasswordResetSent, "A password reset link was sent to a user's address."},
	{TypeUserPasswordUpgraded, "A user's stored password hash was upgraded at sign-in to the current algorithm and parameters; details name the old algorithm."},
	{TypeUserEmailVerificationSent, "An email verification link was sent to a user's address."},
	{TypeUserEmailVerified, "A user verified their email address by following the link."},

	// Sessions (package sessions).
	{TypeSessionCreated, "A browser session began after a sign-in; the target is the session's public handle and the actor the user. Details hold the authentication methods (RFC 8176 amr values) and whether the user asked to be remembered."},
	{TypeSessionRevoked, "Browser sessions were ended before their time. For one session the target is its handle, and details hold its user and the reason: logout, replaced (a new sign-in in the same browser), user (the user ended it from their list) or admin. For all or many of a user's sessions the target is the user, and details hold the reason (user, admin, password_reset, password_set, disabled, deleted, or limit: the oldest ended because the user had too many) and the count of live sessions ended."},
	{TypeSessionsExpiredDeleted, "The cleanup job deleted sessions past their idle or absolute expiry; details hold how many."},

	// OAuth clients (package clients).
	{TypeClientCreated, "An OAuth 2 / OpenID Connect client was registered; the target is its client_id. Details hold its name, whether it is public and first-party, its token endpoint authentication method (auth_method) and grant types. A secret is never recorded."},
	{TypeClientUpdated, "An OAuth client's registration changed; details name the fields, not their values (secret when a switch to an authentication method without one removed the client's secret)."},
	{TypeClientDeleted, "An OAuth client was deleted; details hold its name."},
	{TypeClientSecretRotated, "An OAuth client was given a new secret; the old one stopped working at once. Neither is recorded."},

	// Signing keys (package signingkeys).
	{TypeSigningKeyCreated, "A token signing key was generated and published; the target is its key id (kid, its RFC 7638 thumbprint). Details hold the algorithm (alg), when it starts signing (activates_at) and why it was made (reason: initial when the algorithm had no key, scheduled by the rotation schedule, rotation or immediate_rotation by hand). No key material is recorded."},
	{TypeSigningKeyRetired, "A later signing key started signing, so this one signs no more; it stays published until every token it signed has expired. Details hold the algorithm, the kid of the key that replaced it (successor), when it stopped signing (retired_at) and when it leaves the JWKS (unpublish_at)."},
	{TypeSigningKeyDeleted, "A signing key was unpublished and deleted: tokens it signed no longer verify. Details hold the algorithm and the reason: unpublished (every token it signed had expired) or immediate_rotation (an operator replaced it at once)."},
	{TypeSigningKeyRotated, "An operator rotated an algorithm's signing key by hand; the target is the new key. Details hold the algorithm, whether the rotation was immediate, when the new key starts signing (activates_at) and the kids of the keys it replaces (replaced); an immediate rotation deletes those at once."},

	// OAuth 2 and OpenID Connect (package oauth).
	{TypeOAuthAuthorized, "A user let an app sign them in: the authorization endpoint issued it a code. The target is the client, the actor the user; details hold the scopes granted."},
	{TypeOAuthTokenIssued, "Tokens were issued at the token endpoint for an authorization code or client credentials. The target is the client; the actor is the user the tokens act for, or the client itself. Details hold the grant type, the grant (the id shared by every token of one authorization), the scopes, and whether a refresh token came with it. No token is recorded."},
	{TypeOAuthTokenRefreshed, "A refresh token was exchanged for new tokens; the old refresh token no longer works. Details as for oauth.token.issued."},
	{TypeOAuthTokenRevoked, "A client revoked one of its tokens at the revocation endpoint (RFC 7009); revoking a refresh token ends its whole grant. Details hold the grant and the kind of token (access or refresh)."},
	{TypeOAuthTokenReused, "An authorization code or a rotated refresh token was used again, which means someone else may hold a copy: the grant it belongs to was revoked. Details hold the kind (code or refresh) and the grant."},
	{TypeOAuthTokensRevoked, "Every token of a user (the target) was revoked: after a password reset or set, the user disabled or deleted, or an admin ending their sessions; or the tokens of some of their sessions, when an admin ended those. Details hold the reason and, for sessions, how many."},
	{TypeOAuthConsentGranted, "A user consented to an app getting scopes; the target is the client, the actor the user. Details hold every scope the app may now have."},
	{TypeOAuthConsentRevoked, "A user withdrew an app's access from their account page: the consent and every token the app held for them were revoked."},
	{TypeOAuthLogout, "An app signed the user out (RP-initiated logout): the browser session ended. The target is the client when the request named one; details hold the session."},
	{TypeOAuthLogoutFailed, "A back-channel logout token could not be delivered to an app after every retry: the app may still consider the user signed in. The target is the client; details hold the session and the last error."},
	{TypeOAuthExpiredDeleted, "The cleanup job deleted expired authorization codes, tokens, revocations and requests; details hold how many."},
}

// Types lists every event type, in catalogue order.
func Types() []TypeInfo { return append([]TypeInfo(nil), catalogue...) }

// KnownType reports whether name is in the catalogue.
func KnownType(name string) bool {
	for _, t := range catalogue {
		if t.Name == name {
			return true
		}
	}
	return false
}

// TypePatternMatches reports whether an event type matches a pattern: "*" matches every
// type, "admin.token.*" every type under admin.token, and anything else itself only.
func TypePatternMatches(pattern, typ string) bool {
	switch {
	case pattern == "*":
		return true
	case strings.HasSuffix(pattern, ".*"):
		return strings.HasPrefix(typ, strings.TrimSuffix(pattern, "*"))
	default:
		return pattern == typ
	}
}

// ValidTypePattern reports whether pattern matches at least one catalogued type, so a
// misspelt filter is refused instead of silently matching nothing.
func ValidTypePattern(pattern string) bool {
	for _, t := range catalogue {
		if TypePatternMatches(pattern, t.Name) {
			return true
		}
	}
	return false
}

// MarkdownTable renders the catalogue for the README.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Event type | Recorded when |\n|---|---|\n")
	for _, t := range catalogue {
		b.WriteString("| `" + t.Name + "` | " + t.Description + " |\n")
	}
	return b.String()
}

// details redacts and marshals an event's details. Callers pass maps of plain values,
// which always marshal; keys come out sorted, as redact.JSON would leave them.
func details(v map[string]any) json.RawMessage {
	b, _ := json.Marshal(redact.Map(v))
	return b
}

// withDetails is an event built by a constructor, its details redacted already.
func withDetails(ev Event, d map[string]any) Event {
	ev.Details, ev.redacted = details(d), true
	return ev
}

// AdminTokenCreated records the creation of an admin token.
func AdminTokenCreated(id, name string, expiresAt time.Time) Event {
	return withDetails(Event{Type: TypeAdminTokenCreated, Target: Target{"admin_token", id}, Outcome: Success},
		map[string]any{"name": name, "expires_at": expiresAt.UTC().Format(time.RFC3339)})
}

// AdminTokenRevoked records the revocation of an admin token.
func AdminTokenRevoked(id, name string) Event {
	return withDetails(Event{Type: TypeAdminTokenRevoked, Target: Target{"admin_token", id}, Outcome: Success},
		map[string]any{"name": name})
}

// AdminTokensExpiredDeleted records that the cleanup job deleted count expired tokens.
func AdminTokensExpiredDeleted(count int64) Event {
	return withDetails(Event{Type: TypeAdminTokensExpired, Target: Target{"admin_tokens", "expired"}, Outcome: Success},
		map[string]any{"count": count})
}

// AdminAuthFailed records a management API request with a bad admin token. The token
// itself is never recorded.
func AdminAuthFailed(operation string) Event {
	return Event{Type: TypeAdminAuthFailed, Target: Target{"api_operation", operation}, Outcome: Failure}
}

// AuditPruned records that retention deleted the sealed events up to throughSeq.
func AuditPruned(throughSeq int64) Event {
	return withDetails(Event{Type: TypeAuditPruned, Target: Target{"audit_log", "events"}, Outcome: Success},
		map[string]any{"through_seq": throughSeq})
}

// auditTamperingDetected records a pending event the sealer refused.
func auditTamperingDetected(eventID, reason string) Event {
	return withDetails(Event{Type: TypeAuditTamperingSuspect, Target: Target{"audit_event", eventID}, Outcome: Failure},
		map[string]any{"reason": reason})
}

// MigrationApplied records an applied schema migration.
func MigrationApplied(version int64, name string, took time.Duration) Event {
	return withDetails(Event{Type: TypeMigrationApplied, Target: Target{"schema_migration", strconv.FormatInt(version, 10)},
		Outcome: Success}, map[string]any{"name": name, "duration_ms": took.Milliseconds()})
}

// MigrationReverted records a reverted schema migration.
func MigrationReverted(version int64, name string) Event {
	return withDetails(Event{Type: TypeMigrationReverted, Target: Target{"schema_migration", strconv.FormatInt(version, 10)},
		Outcome: Success}, map[string]any{"name": name})
}

// SystemStarted records a server start with its version and non-secret settings.
func SystemStarted(version string, settings map[string]string) Event {
	return withSettings(Event{Type: TypeSystemStarted, Target: Target{"system", "identityd"}, Outcome: Success},
		map[string]any{"version": version, "settings": settings})
}

// withSettings is withDetails for details keyed by setting names, which skip the
// redaction by key name: password_min_length is no secret, yet its name would hide its
// value, and the change log would show a change at every start. The settings come from
// config.Snapshot, which leaves out or strips every secret setting (a config test holds
// it to that).
func withSettings(ev Event, d map[string]any) Event {
	b, _ := json.Marshal(d)
	ev.Details, ev.redacted = b, true
	return ev
}

// SystemStopped records a graceful shutdown.
func SystemStopped() Event {
	return Event{Type: TypeSystemStopped, Target: Target{"system", "identityd"}, Outcome: Success}
}

// SettingChange is one setting's old and new value; secret settings carry no values.
type SettingChange struct {
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// SystemConfigChanged records settings that differ from the previous start.
func SystemConfigChanged(changes map[string]SettingChange) Event {
	return withSettings(Event{Type: TypeSystemConfigChanged, Target: Target{"system", "identityd"}, Outcome: Success},
		map[string]any{"changed": changes})
}

// WebhookCreated records a new webhook subscription.
func WebhookCreated(id, url string, eventTypes []string) Event {
	return withDetails(Event{Type: TypeWebhookCreated, Target: Target{"webhook", id}, Outcome: Success},
		map[string]any{"url": webhookURL(url), "event_types": eventTypes})
}

// WebhookUpdated records a change to a webhook subscription; changed names the fields,
// with a new URL (a string under "url") recorded as WebhookCreated records one.
func WebhookUpdated(id string, changed map[string]any) Event {
	if u, ok := changed["url"].(string); ok {
		changed = maps.Clone(changed)
		changed["url"] = webhookURL(u)
	}
	return withDetails(Event{Type: TypeWebhookUpdated, Target: Target{"webhook", id}, Outcome: Success},
		map[string]any{"changed": changed})
}

// WebhookDeleted records the deletion of a webhook subscription.
func WebhookDeleted(id, url string) Event {
	return withDetails(Event{Type: TypeWebhookDeleted, Target: Target{"webhook", id}, Outcome: Success},
		map[string]any{"url": webhookURL(url)})
}

// webhookURL is how the log holds a webhook's URL: where it points and a digest of the
// whole, never its path or query. Receivers often put their token there (a chat
// service's incoming-webhook URL is itself the credential), and nothing can be erased
// from the chain; the digest still tells an auditor whether a URL they hold is the one
// recorded.
func webhookURL(raw string) map[string]any {
	sum := sha256.Sum256([]byte(raw))
	origin := ""
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		origin = u.Scheme + "://" + u.Host
	}
	return map[string]any{"origin": origin, "url_sha256": hex.EncodeToString(sum[:])}
}

// userTarget is the target of every user event.
func userTarget(id string) Target { return Target{"user", id} }

// UserCreated records a new account; source says how it was made (api, cli, import,
// registration). No personal data goes into the log: it cannot be erased from a
// tamper-evident chain.
func UserCreated(id, source string, emailVerified, hasPassword bool) Event {
	signIn := "none"
	if hasPassword {
		signIn = "password"
	}
	return withDetails(Event{Type: TypeUserCreated, Target: userTarget(id), Outcome: Success},
		map[string]any{"source": source, "email_verified": emailVerified, "sign_in": signIn})
}

// UserUpdated records a profile change; fields names what changed.
func UserUpdated(id string, fields []string) Event {
	return withDetails(Event{Type: TypeUserUpdated, Target: userTarget(id), Outcome: Success},
		map[string]any{"fields": fields})
}

// UserDisabled records that a user was disabled.
func UserDisabled(id string) Event {
	return Event{Type: TypeUserDisabled, Target: userTarget(id), Outcome: Success}
}

// UserEnabled records that a disabled user was enabled.
func UserEnabled(id string) Event {
	return Event{Type: TypeUserEnabled, Target: userTarget(id), Outcome: Success}
}

// UserDeleted records that a user was deleted.
func UserDeleted(id string) Event {
	return Event{Type: TypeUserDeleted, Target: userTarget(id), Outcome: Success}
}

// UserImportFinished records the outcome of a bulk import.
func UserImportFinished(created, skipped, rejected int) Event {
	return withDetails(Event{Type: TypeUserImported, Target: Target{"users", "import"}, Outcome: Success},
		map[string]any{"created": created, "skipped": skipped, "rejected": rejected})
}

// UserLoginSucceeded records a sign-in; the user is the actor.
func UserLoginSucceeded(id string) Event {
	return Event{Type: TypeUserLoginSucceeded, Actor: requestinfo.Actor{Kind: requestinfo.ActorUser, ID: id},
		Target: userTarget(id), Outcome: Success}
}

// UserLoginFailed records a failed sign-in; id is "" when no user has the identifier.
func UserLoginFailed(id, reason string) Event {
	return withDetails(Event{Type: TypeUserLoginFailed, Target: userTarget(id), Outcome: Failure},
		map[string]any{"reason": reason})
}

// UserLoginNetworkBlocked records that a network reached the failed sign-in limit.
func UserLoginNetworkBlocked(network string, failures int, until time.Time) Event {
	return withDetails(Event{Type: TypeUserLoginBlocked, Target: Target{"network", network}, Outcome: Failure},
		map[string]any{"failures": failures, "until": until.UTC().Format(time.RFC3339)})
}

// UserLocked records a lockout after failures failed sign-ins.
func UserLocked(id string, failures int) Event {
	return withDetails(Event{Type: TypeUserLocked, Target: userTarget(id), Outcome: Success},
		map[string]any{"failures": failures})
}

// UserUnlocked records an unlock; by is "admin" or "password_reset".
func UserUnlocked(id, by string) Event {
	return withDetails(Event{Type: TypeUserUnlocked, Target: userTarget(id), Outcome: Success},
		map[string]any{"by": by})
}

// UserFailuresCleared records an admin clearing the failed sign-ins of a user who was not
// locked (an unlock of an account that was not locked).
func UserFailuresCleared(id string) Event {
	return Event{Type: TypeUserFailuresCleared, Target: userTarget(id), Outcome: Success}
}

// UserPasswordSet records an admin setting a user's password.
func UserPasswordSet(id string) Event {
	return Event{Type: TypeUserPasswordSet, Target: userTarget(id), Outcome: Success}
}

// UserPasswordChanged records a user changing their own password.
func UserPasswordChanged(id string) Event {
	return Event{Type: TypeUserPasswordChanged, Actor: requestinfo.Actor{Kind: requestinfo.ActorUser, ID: id},
		Target: userTarget(id), Outcome: Success}
}

// UserPasswordReset records a password set through a reset link.
func UserPasswordReset(id string) Event {
	return Event{Type: TypeUserPasswordReset, Actor: requestinfo.Actor{Kind: requestinfo.ActorUser, ID: id},
		Target: userTarget(id), Outcome: Success}
}

// UserPasswordResetRequested records that a reset link was sent.
func UserPasswordResetRequested(id string) Event {
	return Event{Type: TypeUserPasswordResetSent, Target: userTarget(id), Outcome: Success}
}

// UserPasswordUpgraded records a stored hash upgraded from the algorithm from.
func UserPasswordUpgraded(id, from string) Event {
	return withDetails(Event{Type: TypeUserPasswordUpgraded, Target: userTarget(id), Outcome: Success},
		map[string]any{"from": from})
}

// UserEmailVerificationSent records that a verification link was sent.
func UserEmailVerificationSent(id string) Event {
	return Event{Type: TypeUserEmailVerificationSent, Target: userTarget(id), Outcome: Success}
}

// UserEmailVerified records a verified address.
func UserEmailVerified(id string) Event {
	return Event{Type: TypeUserEmailVerified, Actor: requestinfo.Actor{Kind: requestinfo.ActorUser, ID: id},
		Target: userTarget(id), Outcome: Success}
}

// Sessions (package sessions).

// sessionTarget is the target of an event about one session: its public handle, never
// its token.
func sessionTarget(id string) Target { return Target{"session", id} }

// SessionCreated records a session begun by a sign-in of userID, who is the actor;
// methods are the RFC 8176 amr values of the sign-in.
func SessionCreated(id, userID string, methods []string, remember bool) Event {
	return withDetails(Event{Type: TypeSessionCreated, Actor: requestinfo.Actor{Kind: requestinfo.ActorUser, ID: userID},
		Target: sessionTarget(id), Outcome: Success},
		map[string]any{"methods": append([]string{}, methods...), "remember": remember})
}

// SessionRevoked records the end of userID's session id for reason (logout, replaced,
// user, admin). The actor comes from the request unless the caller sets it.
func SessionRevoked(id, userID, reason string) Event {
	return withDetails(Event{Type: TypeSessionRevoked, Target: sessionTarget(id), Outcome: Success},
		map[string]any{"user_id": userID, "reason": reason})
}

// SessionsRevoked records that count of userID's live sessions ended together for
// reason: one event for the lot, however many there were.
func SessionsRevoked(userID, reason string, count int) Event {
	return withDetails(Event{Type: TypeSessionRevoked, Target: userTarget(userID), Outcome: Success},
		map[string]any{"reason": reason, "count": count})
}

// SessionsExpiredDeleted records that the cleanup job deleted count expired sessions.
func SessionsExpiredDeleted(count int64) Event {
	return withDetails(Event{Type: TypeSessionsExpiredDeleted, Target: Target{"sessions", "expired"}, Outcome: Success},
		map[string]any{"count": count})
}

// OAuth clients (package clients).

// clientTarget is the target of every OAuth client event: the client_id.
func clientTarget(id string) Target { return Target{"oauth_client", id} }

// ClientCreated records a newly registered OAuth client: what it is, never its secret.
func ClientCreated(id, name string, public, firstParty bool, authMethod string, grantTypes []string) Event {
	return withDetails(Event{Type: TypeClientCreated, Target: clientTarget(id), Outcome: Success},
		map[string]any{"name": name, "public": public, "first_party": firstParty, "auth_method": authMethod,
			"grant_types": append([]string{}, grantTypes...)})
}

// ClientUpdated records a change to a client's registration; fields names what changed,
// without the values, which may be long (key sets) or only meaningful together.
func ClientUpdated(id string, fields []string) Event {
	return withDetails(Event{Type: TypeClientUpdated, Target: clientTarget(id), Outcome: Success},
		map[string]any{"fields": append([]string{}, fields...)})
}

// ClientDeleted records the deletion of a client, with the name it had.
func ClientDeleted(id, name string) Event {
	return withDetails(Event{Type: TypeClientDeleted, Target: clientTarget(id), Outcome: Success},
		map[string]any{"name": name})
}

// ClientSecretRotated records that a client was given a new secret.
func ClientSecretRotated(id string) Event {
	return Event{Type: TypeClientSecretRotated, Target: clientTarget(id), Outcome: Success}
}

// Signing keys (package signingkeys). Their events name keys by kid, which is public;
// no key material is ever recorded.

// signingKeyTarget is the target of every signing key event: the key's kid.
func signingKeyTarget(kid string) Target { return Target{"signing_key", kid} }

// SigningKeyCreated records a new signing key of algorithm alg that signs from
// activatesAt; reason is initial, scheduled, rotation or immediate_rotation.
func SigningKeyCreated(kid, alg string, activatesAt time.Time, reason string) Event {
	return withDetails(Event{Type: TypeSigningKeyCreated, Target: signingKeyTarget(kid), Outcome: Success},
		map[string]any{"alg": alg, "activates_at": activatesAt.UTC().Format(time.RFC3339), "reason": reason})
}

// SigningKeyRetired records that successor replaced the key kid at retiredAt, and that
// kid stays published until unpublishAt.
func SigningKeyRetired(kid, alg, successor string, retiredAt, unpublishAt time.Time) Event {
	return withDetails(Event{Type: TypeSigningKeyRetired, Target: signingKeyTarget(kid), Outcome: Success},
		map[string]any{"alg": alg, "successor": successor, "retired_at": retiredAt.UTC().Format(time.RFC3339),
			"unpublish_at": unpublishAt.UTC().Format(time.RFC3339)})
}

// SigningKeyDeleted records that a key was unpublished and deleted; reason is
// unpublished or immediate_rotation.
func SigningKeyDeleted(kid, alg, reason string) Event {
	return withDetails(Event{Type: TypeSigningKeyDeleted, Target: signingKeyTarget(kid), Outcome: Success},
		map[string]any{"alg": alg, "reason": reason})
}

// SigningKeyRotated records a rotation by hand to the new key kid, which signs from
// activatesAt and replaces the keys replaced.
func SigningKeyRotated(kid, alg string, immediately bool, activatesAt time.Time, replaced []string) Event {
	return withDetails(Event{Type: TypeSigningKeyRotated, Target: signingKeyTarget(kid), Outcome: Success},
		map[string]any{"alg": alg, "immediately": immediately, "activates_at": activatesAt.UTC().Format(time.RFC3339),
			"replaced": append([]string{}, replaced...)})
}

// OAuth 2 and OpenID Connect (package oauth). Events name grants by their id and tokens
// by kind, never by value.

// oauthActor is who tokens act for: the user, or the client itself.
func oauthActor(clientID, userID string) requestinfo.Actor {
	if userID != "" {
		return requestinfo.Actor{Kind: requestinfo.ActorUser, ID: userID}
	}
	return requestinfo.Actor{Kind: requestinfo.ActorClient, ID: clientID}
}

// OAuthAuthorized records that userID let clientID sign them in with scopes.
func OAuthAuthorized(clientID, userID string, scopes []string) Event {
	return withDetails(Event{Type: TypeOAuthAuthorized, Actor: oauthActor(clientID, userID),
		Target: clientTarget(clientID), Outcome: Success}, map[string]any{"scopes": append([]string{}, scopes...)})
}

// OAuthTokenIssued records tokens issued to clientID for userID ("" for the client
// itself) by grantType, for the grant with id grant; refreshed marks a refresh.
func OAuthTokenIssued(clientID, userID, grantType, grant string, scopes []string, withRefresh bool) Event {
	typ := TypeOAuthTokenIssued
	if grantType == "refresh_token" {
		typ = TypeOAuthTokenRefreshed
	}
	// "grant_type" and "refresh" are harmless names; "refresh_token" would be redacted.
	return withDetails(Event{Type: typ, Actor: oauthActor(clientID, userID), Target: clientTarget(clientID), Outcome: Success},
		map[string]any{"grant_type": grantType, "grant": grant, "scopes": append([]string{}, scopes...), "refresh": withRefresh})
}

// OAuthTokenRevoked records clientID revoking one of its tokens (kind access or refresh)
// of grant.
func OAuthTokenRevoked(clientID, grant, kind string) Event {
	return withDetails(Event{Type: TypeOAuthTokenRevoked, Actor: requestinfo.Actor{Kind: requestinfo.ActorClient, ID: clientID},
		Target: clientTarget(clientID), Outcome: Success}, map[string]any{"grant": grant, "kind": kind})
}

// OAuthTokenReused records a second use of an authorization code or a rotated refresh
// token (kind code or refresh) of clientID's grant, which was revoked for it.
func OAuthTokenReused(clientID, userID, kind, grant string) Event {
	return withDetails(Event{Type: TypeOAuthTokenReused, Target: clientTarget(clientID), Outcome: Failure},
		map[string]any{"kind": kind, "grant": grant, "user_id": userID})
}

// OAuthTokensRevoked records that userID's tokens were revoked for reason; sessions is
// how many sessions' tokens, or 0 when it was all of them.
func OAuthTokensRevoked(userID, reason string, sessions int) Event {
	d := map[string]any{"reason": reason}
	if sessions > 0 {
		d["sessions"] = sessions
	}
	return withDetails(Event{Type: TypeOAuthTokensRevoked, Target: userTarget(userID), Outcome: Success}, d)
}

// OAuthConsentGranted records userID's consent to clientID having scopes.
func OAuthConsentGranted(userID, clientID string, scopes []string) Event {
	return withDetails(Event{Type: TypeOAuthConsentGranted, Actor: requestinfo.Actor{Kind: requestinfo.ActorUser, ID: userID},
		Target: clientTarget(clientID), Outcome: Success}, map[string]any{"scopes": append([]string{}, scopes...)})
}

// OAuthConsentRevoked records userID withdrawing clientID's access.
func OAuthConsentRevoked(userID, clientID string) Event {
	return Event{Type: TypeOAuthConsentRevoked, Actor: requestinfo.Actor{Kind: requestinfo.ActorUser, ID: userID},
		Target: clientTarget(clientID), Outcome: Success}
}

// OAuthLogout records an app-initiated sign-out of userID's session sessionID; clientID
// is the app, or "" when the request named none.
func OAuthLogout(clientID, userID, sessionID string) Event {
	target := clientTarget(clientID)
	if clientID == "" {
		target = sessionTarget(sessionID)
	}
	return withDetails(Event{Type: TypeOAuthLogout, Actor: requestinfo.Actor{Kind: requestinfo.ActorUser, ID: userID},
		Target: target, Outcome: Success}, map[string]any{"session": sessionID})
}

// OAuthLogoutFailed records that clientID was never told of the end of sessionID.
func OAuthLogoutFailed(clientID, sessionID, lastError string) Event {
	return withDetails(Event{Type: TypeOAuthLogoutFailed, Target: clientTarget(clientID), Outcome: Failure},
		map[string]any{"session": sessionID, "error": lastError})
}

// OAuthExpiredDeleted records that the cleanup job deleted count expired rows.
func OAuthExpiredDeleted(count int64) Event {
	return withDetails(Event{Type: TypeOAuthExpiredDeleted, Target: Target{"oauth", "expired"}, Outcome: Success},
		map[string]any{"count": count})
}
