package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/identityd/identityd/migrations"
)

// Migrator applies and reverts the versioned schema migrations of a database.
//
// On PostgreSQL it holds a session advisory lock while it works, so replicas and
// operators may migrate at the same time: one applies, the others wait and then find
// nothing to do. Each migration runs in its own transaction, so a failing one leaves
// the database at the previous version.
type Migrator struct {
	provider *goose.Provider
	db       *DB
}

// MigratorOption adjusts a Migrator.
type MigratorOption func(*migratorConfig)

type migratorConfig struct {
	fsys   fs.FS
	logger *slog.Logger
}

// WithMigrationsFS replaces the embedded SQL migrations; tests use it to add a broken one.
func WithMigrationsFS(fsys fs.FS) MigratorOption {
	return func(c *migratorConfig) { c.fsys = fsys }
}

// WithMigrationLogger reports each applied migration to logger.
func WithMigrationLogger(logger *slog.Logger) MigratorOption {
	return func(c *migratorConfig) { c.logger = logger }
}

// EmbeddedMigrations is the SQL migrations built into identityd for a dialect.
func EmbeddedMigrations(d Dialect) fs.FS {
	if d == Postgres {
		fsys, _ := migrations.Postgres(nil)
		return fsys
	}
	fsys, _ := migrations.SQLite()
	return fsys
}

// NewMigrator prepares to migrate db.
func NewMigrator(db *DB, opts ...MigratorOption) (*Migrator, error) {
	cfg := migratorConfig{logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range opts {
		o(&cfg)
	}
	var (
		dialect goose.Dialect
		fsys    fs.FS
		gomig   []*goose.Migration
		popts   = []goose.ProviderOption{goose.WithSlog(cfg.logger), goose.WithDisableGlobalRegistry(true)}
	)
	switch db.dialect {
	case Postgres:
		dialect = goose.DialectPostgres
		fsys, gomig = migrations.Postgres(db.pool)
		// Check for the lock every second for up to ten minutes: long enough for any
		// migration we ship, short enough that a stuck holder is noticed.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
		if err != nil {
			return nil, fmt.Errorf("store: migrator: %w", err)
		}
		popts = append(popts, goose.WithSessionLocker(locker))
	default:
		dialect = goose.DialectSQLite3
		fsys, gomig = migrations.SQLite()
	}
	if cfg.fsys != nil {
		fsys = cfg.fsys
	}
	popts = append(popts, goose.WithGoMigrations(gomig...))
	p, err := goose.NewProvider(dialect, db.SQLDB(), fsys, popts...)
	if err != nil {
		return nil, fmt.Errorf("store: migrator: %w", err)
	}
	return &Migrator{provider: p, db: db}, nil
}

// Applied describes one migration that ran.
type Applied struct {
	Version  int64
	Name     string
	Duration time.Duration
}

// Up applies every pending migration.
func (m *Migrator) Up(ctx context.Context) ([]Applied, error) {
	res, err := m.provider.Up(ctx)
	return applied(res), migrationErr("up", err)
}

// UpTo applies pending migrations up to and including version.
func (m *Migrator) UpTo(ctx context.Context, version int64) ([]Applied, error) {
	res, err := m.provider.UpTo(ctx, version)
	return applied(res), migrationErr("up", err)
}

// Down reverts the most recent migration.
func (m *Migrator) Down(ctx context.Context) ([]Applied, error) {
	res, err := m.provider.Down(ctx)
	if err != nil {
		return nil, migrationErr("down", err)
	}
	return applied([]*goose.MigrationResult{res}), nil
}

// DownTo reverts migrations newer than version; DownTo(ctx, 0) reverts them all.
func (m *Migrator) DownTo(ctx context.Context, version int64) ([]Applied, error) {
	res, err := m.provider.DownTo(ctx, version)
	return applied(res), migrationErr("down", err)
}

// MigrationStatus is the state of one known migration.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// Status lists every migration this binary knows, applied or pending.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	list, err := m.provider.Status(ctx)
	if err != nil {
		return nil, m.unavailable(ctx, migrationErr("status", err))
	}
	out := make([]MigrationStatus, 0, len(list))
	for _, s := range list {
		out = append(out, MigrationStatus{
			Version:   s.Source.Version,
			Name:      sourceName(s.Source),
			Applied:   s.State == goose.StateApplied,
			AppliedAt: s.AppliedAt.UTC(),
		})
	}
	return out, nil
}

// Version reports the database's schema version and the newest version this binary has.
func (m *Migrator) Version(ctx context.Context) (current, latest int64, err error) {
	current, latest, err = m.provider.GetVersions(ctx)
	return current, latest, m.unavailable(ctx, migrationErr("version", err))
}

// unavailable adds ErrUnavailable to err when the database does not answer. goose reads
// through database/sql and wraps driver errors in its own, so the store's mapping never
// saw them; a ping tells a database that is gone from one that is broken.
func (m *Migrator) unavailable(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if perr := m.db.Ping(ctx); perr != nil {
		return errors.Join(err, perr)
	}
	return err
}

func applied(res []*goose.MigrationResult) []Applied {
	out := make([]Applied, 0, len(res))
	for _, r := range res {
		if r == nil || r.Source == nil {
			continue
		}
		out = append(out, Applied{Version: r.Source.Version, Name: sourceName(r.Source), Duration: r.Duration})
	}
	return out
}

func sourceName(s *goose.Source) string {
	if s.Type == goose.TypeGo {
		return migrations.GoName(s.Version)
	}
	return s.Path
}

func migrationErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var partial *goose.PartialError
	if errors.As(err, &partial) && partial.Failed != nil && partial.Failed.Source != nil {
		return fmt.Errorf("store: migrate %s: version %d (%s) failed and was rolled back: %w",
			op, partial.Failed.Source.Version, sourceName(partial.Failed.Source), partial.Err)
	}
	return fmt.Errorf("store: migrate %s: %w", op, err)
}
