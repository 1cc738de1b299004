package users

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/identityd/identityd/store"
)

// Bounds of a search.
const (
	MaxPageSize    = 500
	MaxQueryRunes  = 100
	minIndexedRune = 3 // trigram indexes serve queries of three characters or more
)

// Filter selects users for List. Zero fields select everything.
type Filter struct {
	// Query matches, case-insensitively, anywhere in the email address, username or
	// name. Results are ranked: exact email or username first, then those where a
	// field starts with the query, then the rest; newest first within a rank.
	Query         string
	Status        Status
	EmailVerified *bool
	// CreatedFrom is inclusive and CreatedBefore exclusive.
	CreatedFrom   time.Time
	CreatedBefore time.Time
	Limit         int
	// Cursor is Page.Next of the previous page, "" for the first.
	Cursor string
}

// Page is one page of users and the cursor of the next ("" when this is the last).
type Page struct {
	Users []User
	Next  string
}

// List returns a page of the users f selects: ranked by relevance when f.Query is set,
// newest first otherwise. Pages are keyed on the last row, so users created meanwhile
// neither repeat nor shift later pages.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	var fe fieldErrors
	if f.Limit < 1 || f.Limit > MaxPageSize {
		fe.Add("limit", fmt.Sprintf("must be between 1 and %d", MaxPageSize))
	}
	if f.Status != "" && !f.Status.valid() {
		fe.Add("status", "must be active, disabled or locked")
	}
	q, why := normaliseQuery(f.Query)
	if why != "" {
		fe.Add("q", why)
	}
	if !f.CreatedFrom.IsZero() && !f.CreatedBefore.IsZero() && !f.CreatedFrom.Before(f.CreatedBefore) {
		fe.Add("created_before", "must be after created_from")
	}
	if err := fe.Err(scope); err != nil {
		return Page{}, err
	}

	where := ` WHERE 1 = 1`
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Status != "" {
		where += ` AND status = ` + arg(string(f.Status))
	}
	if f.EmailVerified != nil {
		where += ` AND email_verified = ` + arg(*f.EmailVerified)
	}
	if !f.CreatedFrom.IsZero() {
		where += ` AND created_at >= ` + arg(f.CreatedFrom)
	}
	if !f.CreatedBefore.IsZero() {
		where += ` AND created_at < ` + arg(f.CreatedBefore)
	}
	if q == "" {
		paged, args, err := store.PageNewestFirst(`SELECT `+userColumns+` FROM users`+where, args, true, f.Limit, f.Cursor)
		if errors.Is(err, store.ErrBadCursor) {
			return Page{}, ErrBadCursor
		}
		if err != nil {
			return Page{}, err
		}
		users, err := s.collect(ctx, paged, args)
		if err != nil {
			return Page{}, err
		}
		page := Page{Users: users}
		if len(users) > f.Limit {
			page.Users = users[:f.Limit]
			last := page.Users[f.Limit-1]
			page.Next = store.NextCursor(len(users), f.Limit, last.CreatedAt, last.ID)
		}
		return page, nil
	}
	return s.search(ctx, where, args, q, f)
}

// search is List with a query.
func (s *Service) search(ctx context.Context, where string, args []any, q string, f Filter) (Page, error) {
	query, args, err := searchQuery(s.db.Dialect(), where, args, q, f)
	if err != nil {
		return Page{}, err
	}
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return Page{}, fmt.Errorf("users: search: %w", err)
	}
	type ranked struct {
		u    User
		rank int
	}
	found, err := store.CollectRows(rows, func(r *store.Rows) (ranked, error) {
		var x ranked
		var err error
		x.u, err = scanUser(withRank{r, &x.rank})
		return x, err
	})
	if err != nil {
		return Page{}, fmt.Errorf("users: search: %w", err)
	}
	page := Page{Users: make([]User, 0, min(len(found), f.Limit))}
	for i, x := range found {
		if i == f.Limit {
			last := found[i-1]
			page.Next = encodeSearchCursor(last.rank, last.u.CreatedAt, last.u.ID)
			break
		}
		page.Users = append(page.Users, x.u)
	}
	return page, nil
}

// searchQuery builds the query of a search after the filters in where: the substring
// match uses the trigram index of each backend, and the rank is computed the same way on
// both, so that results agree.
func searchQuery(dialect store.Dialect, where string, args []any, q string, f Filter) (string, []any, error) {
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	like := escapeLike(q)
	where += ` AND search_text LIKE ` + arg("%"+like+"%") + ` ESCAPE '\'`
	if utf8.RuneCountInString(q) >= minIndexedRune && dialect == store.SQLite {
		// FTS5's trigram index answers a phrase query with substring matches; the LIKE
		// above stays as the exact condition. PostgreSQL's planner uses the pg_trgm GIN
		// index for the LIKE itself.
		where += ` AND rowid IN (SELECT rowid FROM users_search WHERE users_search MATCH ` +
			arg(`"`+strings.ReplaceAll(q, `"`, `""`)+`"`) + `)`
	}
	exact := arg(q)
	prefix := arg(like + "%")
	linePrefix := arg("%\n" + like + "%")
	rank := `(CASE WHEN email_key = ` + exact + ` OR username_key = ` + exact + ` THEN 0 WHEN search_text LIKE ` +
		prefix + ` ESCAPE '\' OR search_text LIKE ` + linePrefix + ` ESCAPE '\' THEN 1 ELSE 2 END)`
	if f.Cursor != "" {
		r, at, id, err := decodeSearchCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		ra, ta, ia := arg(r), arg(at), arg(id)
		where += ` AND (` + rank + ` > ` + ra + ` OR (` + rank + ` = ` + ra + ` AND (created_at, id) < (` + ta + `, ` + ia + `)))`
	}
	return `SELECT ` + userColumns + `, ` + rank + ` FROM users` + where +
		` ORDER BY ` + rank + `, created_at DESC, id DESC LIMIT ` + arg(f.Limit+1), args, nil
}

// withRank scans a row of userColumns followed by a rank.
type withRank struct {
	r    scanner
	rank *int
}

func (w withRank) Scan(dest ...any) error { return w.r.Scan(append(dest, w.rank)...) }

// collect runs a query of userColumns and scans every row.
func (s *Service) collect(ctx context.Context, query string, args []any) ([]User, error) {
	rows, err := s.db.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("users: list: %w", err)
	}
	users, err := store.CollectRows(rows, func(r *store.Rows) (User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("users: list: %w", err)
	}
	return users, nil
}

// normaliseQuery returns a search query in the form search_text holds (lower case), or
// why it is refused.
func normaliseQuery(q string) (string, string) {
	if !utf8.ValidString(q) {
		return "", "must be valid UTF-8"
	}
	q = strings.TrimSpace(q)
	if utf8.RuneCountInString(q) > MaxQueryRunes {
		return "", fmt.Sprintf("must be at most %d characters", MaxQueryRunes)
	}
	for _, r := range q {
		if unicode.IsControl(r) {
			return "", "must not contain control characters"
		}
	}
	return strings.ToLower(q), ""
}

// escapeLike makes q match itself literally in a LIKE pattern with ESCAPE '\'.
func escapeLike(q string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(q)
}

// encodeSearchCursor makes the cursor after a ranked row. It is opaque to callers; it
// starts with "r" so a ranked cursor is never taken for a plain one.
func encodeSearchCursor(rank int, at time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("r" + strconv.Itoa(rank) + ":" +
		strconv.FormatInt(at.UnixMicro(), 10) + ":" + id))
}

func decodeSearchCursor(c string) (int, time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) > 64 || len(raw) < 2 || raw[0] != 'r' {
		return 0, time.Time{}, "", ErrBadCursor
	}
	parts := strings.SplitN(string(raw[1:]), ":", 3)
	if len(parts) != 3 || parts[2] == "" {
		return 0, time.Time{}, "", ErrBadCursor
	}
	rank, err1 := strconv.Atoi(parts[0])
	micros, err2 := strconv.ParseInt(parts[1], 10, 64)
	if err1 != nil || err2 != nil || rank < 0 || rank > 2 {
		return 0, time.Time{}, "", ErrBadCursor
	}
	return rank, time.UnixMicro(micros).UTC(), parts[2], nil
}
