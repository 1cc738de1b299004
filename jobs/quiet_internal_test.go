package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

func TestOnlyTheStopsOwnCancellationIsQuietened(t *testing.T) {
	var out bytes.Buffer
	stopping := &atomic.Bool{}
	log := slog.New(quietStop{Handler: slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}), stopping: stopping}).
		With("component", "jobs")
	cancelled := fmt.Errorf("begin: %w", context.Canceled)

	log.Error("before the stop", "error", cancelled)
	stopping.Store(true)
	log.Error("cancelled by the stop", "error", cancelled)
	log.Error("cancelled by the stop, as text", slog.String("error", "context canceled"))
	log.Error("another failure", "error", errors.New("disk full"))
	log.Warn("a warning", "error", cancelled)

	want := map[string]string{
		"before the stop":                "level=ERROR",
		"cancelled by the stop":          "level=DEBUG",
		"cancelled by the stop, as text": "level=DEBUG",
		"another failure":                "level=ERROR",
		"a warning":                      "level=WARN",
	}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		for msg, level := range want {
			if strings.Contains(line, `msg="`+msg+`"`) {
				if !strings.Contains(line, level) || !strings.Contains(line, "component=jobs") {
					t.Errorf("%q logged as %s, want %s with the handler's attributes", msg, line, level)
				}
				delete(want, msg)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("not logged at all: %v\n%s", want, out.String())
	}
}
