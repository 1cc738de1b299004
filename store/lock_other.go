//go:build !unix

package store

import "errors"

// ErrInUse means another identityd server already serves this SQLite database.
var ErrInUse = errors.New("store: database in use by another server")

// ClaimServer makes this process the one server of an SQLite database. Only Unix systems
// can make that claim, so elsewhere serving SQLite is refused rather than left unguarded.
func (db *DB) ClaimServer() (release func(), err error) {
	if db.dialect != SQLite {
		return func() {}, nil
	}
	return nil, errors.New("store: serving embedded SQLite needs a Unix system; use PostgreSQL here")
}
