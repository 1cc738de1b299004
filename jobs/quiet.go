package jobs

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
)

// quietStop is the handler River logs through. Once Stop has begun, an error record
// that is only the stop's own cancellation — River's periodic enqueuer losing the
// transaction it had just begun, when a server stops right after starting — is logged
// at debug level: nothing failed, and an ERROR line on a clean stop sends operators
// looking for a fault. Every other record passes as River wrote it.
type quietStop struct {
	slog.Handler
	stopping *atomic.Bool
}

func (h quietStop) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError && h.stopping.Load() && onlyCancelled(r) {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietStop) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietStop{Handler: h.Handler.WithAttrs(attrs), stopping: h.stopping}
}

func (h quietStop) WithGroup(name string) slog.Handler {
	return quietStop{Handler: h.Handler.WithGroup(name), stopping: h.stopping}
}

// onlyCancelled reports whether r's error is a cancellation and nothing else.
func onlyCancelled(r slog.Record) bool {
	cancelled := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "error" {
			return true
		}
		if err, ok := a.Value.Any().(error); ok {
			cancelled = errors.Is(err, context.Canceled)
		} else {
			cancelled = a.Value.String() == context.Canceled.Error()
		}
		return false
	})
	return cancelled
}
