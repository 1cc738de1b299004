package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// prepared holds SQLite writer statements prepared ahead, by query text.
type prepared struct {
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// Prepare prepares a hot statement once, so that every transaction that runs it after
// skips parsing and planning it again. Call it outside any transaction — at start-up,
// after migrations — because on SQLite preparing needs the one writer connection, which
// a transaction holds. On PostgreSQL it does nothing: pgx keeps statements prepared per
// connection by itself.
func (db *DB) Prepare(ctx context.Context, query string) error {
	if db.dialect != SQLite {
		return nil
	}
	db.prepared.mu.Lock()
	defer db.prepared.mu.Unlock()
	if _, ok := db.prepared.stmts[query]; ok {
		return nil
	}
	st, err := db.writer.PrepareContext(ctx, query)
	if err != nil {
		return fmt.Errorf("store: prepare: %w", mapSQLiteErr(err))
	}
	if db.prepared.stmts == nil {
		db.prepared.stmts = map[string]*sql.Stmt{}
	}
	db.prepared.stmts[query] = st
	return nil
}

// lookup returns the statement prepared for query, or nil.
func (p *prepared) lookup(query string) *sql.Stmt {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.stmts[query]
}

func (p *prepared) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, st := range p.stmts {
		_ = st.Close()
	}
	p.stmts = nil
}
