package store

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// ErrBadCursor means a page cursor was not one the store made.
var ErrBadCursor = errors.New("store: malformed cursor")

// PageNewestFirst adds keyset pagination on (created_at, id), newest first, to query, a
// SELECT from one table whose WHERE clause, if any, ends the query (hasWhere says which).
// Pages are keyed on the last row's (created_at, id), so rows created meanwhile neither
// repeat nor shift later pages. It fetches limit+1 rows, so that NextCursor can tell
// whether there is a next page; args are query's own arguments.
func PageNewestFirst(query string, args []any, hasWhere bool, limit int, cursor string) (string, []any, error) {
	if cursor != "" {
		at, id, err := decodeCursor(cursor)
		if err != nil {
			return "", nil, err
		}
		if hasWhere {
			query += " AND"
		} else {
			query += " WHERE"
		}
		n := len(args)
		query += " (created_at, id) < ($" + strconv.Itoa(n+1) + ", $" + strconv.Itoa(n+2) + ")"
		args = append(args, at, id)
	}
	args = append(args, limit+1)
	return query + " ORDER BY created_at DESC, id DESC LIMIT $" + strconv.Itoa(len(args)), args, nil
}

// NextCursor is the cursor of the page after the limit rows of a PageNewestFirst query
// that fetched n rows, or "" when there is none; at and id are the limit-th row's.
func NextCursor(n, limit int, at time.Time, id string) string {
	if n <= limit {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at.UnixMicro(), 10) + ":" + id))
}

func decodeCursor(c string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) > 64 {
		return time.Time{}, "", ErrBadCursor
	}
	micros, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || !plausibleID(id) {
		return time.Time{}, "", ErrBadCursor
	}
	return time.UnixMicro(n).UTC(), id, nil
}

// plausibleID reports whether id, from a cursor, could be a row's id: non-empty visible
// ASCII. Anything else, a NUL or bytes that are not UTF-8 above all, would make
// PostgreSQL refuse the query, and a forged cursor is the client's mistake, not a server
// error.
func plausibleID(id string) bool {
	if id == "" {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] >= 0x7f {
			return false
		}
	}
	return true
}

// NewID makes a short random row id: 80 bits in lower-case base32, 16 characters, easy
// to type into a command (identityd admin token revoke ID) and free of '.' and '/'.
func NewID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b) // crypto/rand never fails short; it crashes the program instead
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}
