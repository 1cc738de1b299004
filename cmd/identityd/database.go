package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/server"

	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
)

// cliContext marks what a command does as done by an operator through the CLI, for the
// audit log.
func cliContext(ctx context.Context) context.Context {
	return requestinfo.With(ctx, &requestinfo.Info{Actor: requestinfo.CLI})
}

// openStore opens the configured database for a command, with few connections: commands
// are short and may run beside a server. mustExist refuses to create a new SQLite file.
func openStore(ctx context.Context, cfg *config.Config, mustExist bool) (*store.DB, error) {
	return store.Open(ctx, cfg.DatabaseURL, store.Options{
		ConnectTimeout: cfg.DatabaseConnectTimeout, MaxConns: 2, MustExist: mustExist})
}

// openCurrentStore opens an existing database whose schema this identityd knows, for
// commands that use its tables: on an unmigrated database they would otherwise fail with
// a bare "no such table".
func openCurrentStore(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	db, err := openStore(ctx, cfg, true)
	if err != nil {
		return nil, err
	}
	m, err := store.NewMigrator(db)
	if err != nil {
		db.Close()
		return nil, err
	}
	cur, latest, err := m.Version(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	if cur < latest {
		db.Close()
		return nil, fmt.Errorf("the database schema is at version %d and this identityd needs %d: run identityd migrate up", cur, latest)
	}
	return db, nil
}

// operator is what an operator command works with.
type operator struct {
	cfg *config.Config
	db  *store.DB
	// kr holds the encryption keys when opened with keys, and is nil otherwise.
	kr *keyring.Keyring
	// log records and verifies audit events when opened with keys, and only reads
	// them otherwise.
	log *audit.Log
}

// openOperator loads the configuration and opens the database, whose schema must be
// current. With keys it also loads the encryption keys (the dev key beside serve --dev),
// which recording and verifying audit events need; that is checked before the database
// is touched. Close it when done.
func openOperator(cmd *cobra.Command, e *env, keys bool) (*operator, error) {
	cfg, err := loadConfig(cmd, e, false, false)
	if err != nil {
		return nil, err
	}
	var kr *keyring.Keyring
	if keys {
		if kr, err = server.Keyring(cfg, false, slog.New(slog.NewTextHandler(e.stderr, nil))); err != nil {
			return nil, err
		}
	}
	db, err := openCurrentStore(cmd.Context(), cfg)
	if err != nil {
		return nil, err
	}
	log, err := audit.New(db, kr, time.Now)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &operator{cfg: cfg, db: db, kr: kr, log: log}, nil
}

func (o *operator) close() { o.db.Close() }
