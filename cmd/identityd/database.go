package main

import (
	"context"
	"fmt"

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
