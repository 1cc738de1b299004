package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
)

// healthz answers while the process can serve HTTP at all; it touches nothing else, so
// an orchestrator does not restart identityd because its database is down.
func healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// readiness says whether this replica should get traffic: the database answers and its
// schema is at least as new as this binary's migrations. A newer schema is fine — during
// a rolling upgrade old replicas keep serving while new ones migrate forward.
type readiness struct {
	db       *store.DB
	migrator *store.Migrator
	logger   *slog.Logger
}

func (rd *readiness) check(ctx context.Context) (ok bool, reason string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := rd.db.Ping(ctx); err != nil {
		rd.logger.WarnContext(ctx, "not ready: database unreachable",
			slog.String("request_id", requestinfo.From(ctx).ID), slog.String("error", err.Error()))
		return false, "The database is unreachable."
	}
	cur, latest, err := rd.migrator.Version(ctx)
	if err != nil {
		rd.logger.WarnContext(ctx, "not ready: cannot read schema version",
			slog.String("request_id", requestinfo.From(ctx).ID), slog.String("error", err.Error()))
		return false, "The database schema version cannot be read."
	}
	if cur < latest {
		return false, "The database schema is behind this version of identityd; run identityd migrate up."
	}
	return true, ""
}

func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if ok, reason := rd.check(r.Context()); !ok {
		w.Header().Set("Retry-After", "5")
		writeProblem(w, http.StatusServiceUnavailable, reason)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"status":"ready"}` + "\n"))
}
