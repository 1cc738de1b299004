package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
)

// recordStart records system.started with the version and the non-secret settings, and,
// when those settings differ from the previous start's, system.config.changed naming each
// change. A failure is logged, not fatal: the server is up either way, and a database
// that cannot take this record fails readiness anyway.
func (s *Server) recordStart(ctx context.Context) {
	snap := s.cfg.Snapshot()
	// The keys' ids, under a name the redaction rule lets through: a rotation shows as a
	// change without any key being recorded.
	snap["encryption_keyring_ids"] = strings.Join(s.kr.KeyIDs(), ",")
	if prev, ok := s.previousSettings(ctx); ok {
		changes := map[string]audit.SettingChange{}
		for _, k := range slices.Sorted(maps.Keys(snap)) {
			if prev[k] != snap[k] {
				changes[k] = audit.SettingChange{From: prev[k], To: snap[k]}
			}
		}
		for k := range prev {
			if _, ok := snap[k]; !ok {
				changes[k] = audit.SettingChange{From: prev[k]}
			}
		}
		if len(changes) > 0 {
			if err := s.audit.RecordNow(ctx, audit.SystemConfigChanged(changes)); err != nil {
				s.log.Error("could not record the configuration change", slog.String("error", err.Error()))
			}
		}
	}
	if err := s.audit.RecordNow(ctx, audit.SystemStarted(s.version, snap)); err != nil {
		s.log.Error("could not record the start", slog.String("error", err.Error()))
	}
}

// previousSettings returns the settings of the last recorded start.
func (s *Server) previousSettings(ctx context.Context) (map[string]string, bool) {
	page, err := s.audit.Query(ctx, audit.Filter{Type: audit.TypeSystemStarted}, 1, "")
	if err != nil || len(page.Events) == 0 {
		return nil, false
	}
	var d struct {
		Settings map[string]string `json:"settings"`
	}
	if json.Unmarshal(page.Events[0].Details, &d) != nil || d.Settings == nil {
		return nil, false
	}
	return d.Settings, true
}

// RecordMigrations records migrations that were applied (up) or reverted, if the audit
// log's tables are there to hold them: migrating up to an early version, or down past the
// audit log's own migration, leaves nowhere to record.
// goose runs each migration in a transaction of its own, so these records follow it in
// another; the migration's own rollback on failure means nothing is recorded for it.
func RecordMigrations(ctx context.Context, log *audit.Log, done []store.Applied, up bool) error {
	if len(done) == 0 || !log.Available(ctx) {
		return nil
	}
	if requestinfo.From(ctx).Actor == (requestinfo.Actor{}) {
		ctx = requestinfo.With(ctx, &requestinfo.Info{Actor: requestinfo.System})
	}
	for _, m := range done {
		ev := audit.MigrationApplied(m.Version, m.Name, m.Duration)
		if !up {
			ev = audit.MigrationReverted(m.Version, m.Name)
		}
		if err := log.RecordNow(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}
