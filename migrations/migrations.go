// Package migrations holds identityd's schema: versioned goose migrations, one folder per
// dialect with the same version numbers, each with Up and Down, embedded in the binary.
//
// Version 1 is a Go migration that installs the job queue's schema through River's own
// migrator, pinned to a River schema version, so that our version table alone says
// what the database holds. A later River upgrade that changes its schema gets its own
// version here.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed postgres/*.sql
var postgresFS embed.FS

//go:embed sqlite/*.sql
var sqliteFS embed.FS

// riverSchemaVersion is the River schema version that River v0.43 needs.
const riverSchemaVersion = 7

// riverVersion is the goose version of the migration that installs River's schema.
const riverVersion = 1

// GoName names a Go migration for status listings, as a file name names an SQL one.
func GoName(version int64) string {
	if version == riverVersion {
		return fmt.Sprintf("%05d_river_job_queue (River schema v%d)", version, riverSchemaVersion)
	}
	return fmt.Sprintf("%05d (Go)", version)
}

// riverLogger keeps River's migrator quiet: goose already reports each version.
var riverLogger = slog.New(slog.NewTextHandler(io.Discard, nil))

// Postgres returns the PostgreSQL migrations. River's migrator needs the pgx pool; it runs
// each River version in its own transaction and skips versions already applied, so
// re-running version 1 after a crash between River's commit and goose's is harmless.
func Postgres(pool *pgxpool.Pool) (fs.FS, []*goose.Migration) {
	up := func(ctx context.Context, _ *sql.DB) error {
		m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: riverLogger})
		if err != nil {
			return fmt.Errorf("migrations: river: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, &rivermigrate.MigrateOpts{TargetVersion: riverSchemaVersion}); err != nil {
			return fmt.Errorf("migrations: river up: %w", err)
		}
		return nil
	}
	down := func(ctx context.Context, _ *sql.DB) error {
		m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: riverLogger})
		if err != nil {
			return fmt.Errorf("migrations: river: %w", err)
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionDown, &rivermigrate.MigrateOpts{TargetVersion: -1}); err != nil {
			return fmt.Errorf("migrations: river down: %w", err)
		}
		return nil
	}
	return sub(postgresFS, "postgres"), []*goose.Migration{
		goose.NewGoMigration(riverVersion, &goose.GoFunc{RunDB: up}, &goose.GoFunc{RunDB: down}),
	}
}

// SQLite returns the SQLite migrations. River's schema goes in goose's own transaction:
// SQLite's DDL is transactional, and goose holds the one writer connection while it
// migrates, so River could not get a connection of its own.
func SQLite() (fs.FS, []*goose.Migration) {
	run := func(dir rivermigrate.Direction, target int) func(context.Context, *sql.Tx) error {
		return func(ctx context.Context, tx *sql.Tx) error {
			m, err := rivermigrate.New(riversqlite.New(nil), &rivermigrate.Config{Logger: riverLogger})
			if err != nil {
				return fmt.Errorf("migrations: river: %w", err)
			}
			//nolint:staticcheck // MigrateTx is deprecated for PostgreSQL enum changes; SQLite has none.
			if _, err := m.MigrateTx(ctx, tx, dir, &rivermigrate.MigrateOpts{TargetVersion: target}); err != nil {
				return fmt.Errorf("migrations: river %s: %w", dir, err)
			}
			return nil
		}
	}
	return sub(sqliteFS, "sqlite"), []*goose.Migration{
		goose.NewGoMigration(riverVersion,
			&goose.GoFunc{RunTx: run(rivermigrate.DirectionUp, riverSchemaVersion)},
			&goose.GoFunc{RunTx: run(rivermigrate.DirectionDown, -1)}),
	}
}

func sub(fsys embed.FS, dir string) fs.FS {
	out, err := fs.Sub(fsys, dir)
	if err != nil {
		// The directory is embedded above; fs.Sub fails only on an invalid name.
		panic(err)
	}
	return out
}
