package audit

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/identityd/identityd/redact"
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
	{TypeWebhookCreated, "A webhook subscription was created."},
	{TypeWebhookUpdated, "A webhook subscription was changed (URL, event types, enabled, secret)."},
	{TypeWebhookDeleted, "A webhook subscription was deleted."},
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
	return withDetails(Event{Type: TypeSystemStarted, Target: Target{"system", "identityd"}, Outcome: Success},
		map[string]any{"version": version, "settings": settings})
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
	return withDetails(Event{Type: TypeSystemConfigChanged, Target: Target{"system", "identityd"}, Outcome: Success},
		map[string]any{"changed": changes})
}

// WebhookCreated records a new webhook subscription.
func WebhookCreated(id, url string, eventTypes []string) Event {
	return withDetails(Event{Type: TypeWebhookCreated, Target: Target{"webhook", id}, Outcome: Success},
		map[string]any{"url": url, "event_types": eventTypes})
}

// WebhookUpdated records a change to a webhook subscription; changed names the fields.
func WebhookUpdated(id string, changed map[string]any) Event {
	return withDetails(Event{Type: TypeWebhookUpdated, Target: Target{"webhook", id}, Outcome: Success},
		map[string]any{"changed": changed})
}

// WebhookDeleted records the deletion of a webhook subscription.
func WebhookDeleted(id, url string) Event {
	return withDetails(Event{Type: TypeWebhookDeleted, Target: Target{"webhook", id}, Outcome: Success},
		map[string]any{"url": url})
}
