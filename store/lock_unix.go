//go:build unix

package store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrInUse means another identityd server already serves this SQLite database.
var ErrInUse = errors.New("store: database in use by another server")

// ClaimServer makes this process the one server of an SQLite database, for as long as
// the process lives or until release is called. Embedded SQLite has a single writer and
// no way to tell replicas about each other's changes, so a second server on the same
// file is refused; short-lived CLI commands do not claim and still work beside it. On
// PostgreSQL, where any number of replicas may run, ClaimServer does nothing.
//
// The claim is an exclusive flock on PATH.serve.lock, which the kernel drops when the
// process dies, so a crashed server never leaves a stale claim behind.
func (db *DB) ClaimServer() (release func(), err error) {
	if db.dialect != SQLite {
		return func() {}, nil
	}
	name := db.path + ".serve.lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: claim %s: %w", db.path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := readHolder(f)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: another identityd serve%s is running on %s; embedded SQLite "+
				"allows one server per database file (run several replicas on PostgreSQL instead)",
				ErrInUse, holder, db.path)
		}
		return nil, fmt.Errorf("store: claim %s: %w", db.path, err)
	}
	// Record who holds the claim so that the refusal above can name it.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}

func readHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid := strings.TrimSpace(string(buf[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return " (pid " + pid + ")"
}
