package redact

import (
	"log/slog"
	"slices"
)

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that redacts: an attribute whose key
// IsSensitive, or that sits in a group whose name is sensitive (slog.Group("password",
// …), Logger.WithGroup("credentials")), becomes the string Redacted whatever its kind.
// Maps, slices and json.RawMessage values under other keys are redacted inside as Map
// and JSON do, so slog.Any("header", r.Header) logs no Authorization.
//
// To combine it with other rewriting, call it first from your own function.
func ReplaceAttr(groups []string, a slog.Attr) slog.Attr {
	if IsSensitive(a.Key) || slices.ContainsFunc(groups, IsSensitive) {
		return slog.String(a.Key, Redacted)
	}
	// Handlers resolve values before calling, but a direct caller may not have.
	a.Value = a.Value.Resolve()
	switch a.Value.Kind() {
	case slog.KindGroup:
		// Handlers never pass groups here, only their members; a direct caller might.
		members := a.Value.Group()
		redacted := make([]slog.Attr, len(members))
		nested := append(slices.Clip(groups), a.Key)
		for i, m := range members {
			redacted[i] = ReplaceAttr(nested, m)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(redacted...)}
	case slog.KindAny:
		return slog.Any(a.Key, new(walker).value(a.Value.Any()))
	default:
		return a
	}
}
