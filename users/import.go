package users

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/store"
)

// Bounds of an import. A batch is written in one transaction; it is bounded in lines and
// in bytes, so memory stays flat however large the file.
const (
	MaxImportLineBytes = 64 << 10
	importBatchLines   = 500
	importBatchBytes   = 1 << 20
)

// importLine is one line of a JSONL import.
type importLine struct {
	Email         string          `json:"email"`
	EmailVerified bool            `json:"email_verified"`
	Username      string          `json:"username"`
	Name          string          `json:"name"`
	Password      string          `json:"password"`
	PasswordHash  string          `json:"password_hash"`
	Metadata      json.RawMessage `json:"metadata"`
}

// Rejection is one line an import refused, with every reason.
type Rejection struct {
	Line   int          `json:"line"`
	Errors []FieldError `json:"errors"`
}

// ImportReport counts what an import did. A user whose email address is already taken is
// skipped, unchanged, so running an import again creates only what is missing.
type ImportReport struct {
	Created  int `json:"created"`
	Skipped  int `json:"skipped"`
	Rejected int `json:"rejected"`
}

// pending is a checked line waiting for its batch to be written.
type pending struct {
	line int
	user NewUser
	meta json.RawMessage
	hash string
}

// Import creates users from JSONL read from r: one JSON object per line with email, and
// optionally name, username, email_verified, metadata, and password (checked against
// the policy and hashed) or password_hash (in any format Authenticate verifies, upgraded
// at first sign-in). It streams: lines are checked and written in bounded batches, each
// in one transaction. reject is called, in line order, for each refused line. If r or
// the database fails midway, the batches written stay written and the report says how
// far it got; importing the same file again finishes the job.
func (s *Service) Import(ctx context.Context, r io.Reader, reject func(Rejection)) (ImportReport, error) {
	var (
		rep     ImportReport
		batch   []pending
		size    int
		refused []Rejection
	)
	flush := func() error {
		if len(batch) == 0 && len(refused) == 0 {
			return nil
		}
		err := s.importBatch(ctx, batch, &rep, &refused)
		// Rejections are reported in line order, whichever stage made them.
		slices.SortStableFunc(refused, func(a, b Rejection) int { return a.Line - b.Line })
		for _, x := range refused {
			rep.Rejected++
			reject(x)
		}
		batch, size, refused = batch[:0], 0, refused[:0]
		return err
	}
	if err := s.Prepare(ctx); err != nil {
		return rep, err
	}
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		raw, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			readErr := fmt.Errorf("users: import: read line %d: %w", line, err)
			if ferr := flush(); ferr != nil {
				readErr = errors.Join(readErr, ferr)
			}
			// Recorded whatever happened: earlier batches may have created users.
			return rep, s.finishImport(ctx, rep, readErr)
		}
		switch {
		case tooLong:
			refused = append(refused, Rejection{line, []FieldError{{Field: "line", Reason: fmt.Sprintf("is longer than %d bytes", MaxImportLineBytes)}}})
		case len(bytes.TrimSpace(raw)) > 0:
			p, fe := s.parseImportLine(raw)
			if fe != nil {
				refused = append(refused, Rejection{line, fe})
			} else {
				p.line = line
				batch = append(batch, p)
				size += len(raw)
			}
		}
		if len(batch)+len(refused) >= importBatchLines || size >= importBatchBytes || errors.Is(err, io.EOF) {
			if ferr := flush(); ferr != nil {
				return rep, s.finishImport(ctx, rep, ferr)
			}
		}
		if errors.Is(err, io.EOF) {
			return rep, s.finishImport(ctx, rep, nil)
		}
	}
}

// readLine reads one line without its newline. A line longer than MaxImportLineBytes is
// consumed and reported as too long, its content dropped. err is io.EOF with the last
// line.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > MaxImportLineBytes+1 {
				tooLong, buf = true, nil
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(buf, "\r\n"), tooLong, err
	}
}

// parseImportLine decodes and checks one line; it refuses unknown fields, invalid UTF-8
// (which JSON decoding would silently replace) and anything after the object.
func (s *Service) parseImportLine(raw []byte) (pending, []FieldError) {
	if !utf8.Valid(raw) {
		return pending{}, []FieldError{{Field: "line", Reason: "must be valid UTF-8"}}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var in importLine
	if err := dec.Decode(&in); err != nil {
		return pending{}, []FieldError{{Field: "line", Reason: "must be one JSON object with known fields: " + jsonProblem(err)}}
	}
	if dec.More() {
		return pending{}, []FieldError{{Field: "line", Reason: "must hold one JSON object only"}}
	}
	n, meta, err := s.checkNew(NewUser{Email: in.Email, EmailVerified: in.EmailVerified, Username: in.Username,
		Name: in.Name, Password: in.Password, PasswordHash: in.PasswordHash, Metadata: in.Metadata, Source: SourceImport})
	var ve *ValidationError
	if errors.As(err, &ve) {
		return pending{}, ve.Errors
	}
	return pending{user: n, meta: meta, hash: n.PasswordHash}, nil
}

// jsonProblem describes a decoding error without quoting the input, which may hold a
// password.
func jsonProblem(err error) string {
	var (
		syntax *json.SyntaxError
		typ    *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "invalid JSON"
}

// importBatch hashes the plaintext passwords of a batch, as many at once as the hasher
// admits, then writes the batch in one transaction.
func (s *Service) importBatch(ctx context.Context, batch []pending, rep *ImportReport, refused *[]Rejection) error {
	if len(batch) == 0 {
		return nil
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		slots    = make(chan struct{}, s.hasher.Concurrency())
	)
	for i := range batch {
		if batch[i].user.Password == "" {
			continue
		}
		wg.Add(1)
		slots <- struct{}{}
		go func(p *pending) {
			defer func() { <-slots; wg.Done() }()
			h, err := s.hasher.Hash(ctx, p.user.Password)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			p.hash, p.user.Password = h, ""
		}(&batch[i])
	}
	wg.Wait()
	if firstErr != nil {
		return fmt.Errorf("users: import: %w", firstErr)
	}
	var created, skipped int
	var conflicts []Rejection
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		created, skipped, conflicts = 0, 0, nil
		for _, p := range batch {
			_, err := s.insert(ctx, tx, p.user, p.meta, p.hash)
			var ce *ConflictError
			switch {
			case errors.As(err, &ce) && ce.Field == "email":
				skipped++
			case errors.As(err, &ce):
				conflicts = append(conflicts, Rejection{p.line, []FieldError{{Field: ce.Field, Reason: "is already taken"}}})
			case err != nil:
				return err
			default:
				created++
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("users: import: lines %d to %d: %w", batch[0].line, batch[len(batch)-1].line, err)
	}
	rep.Created += created
	rep.Skipped += skipped
	*refused = append(*refused, conflicts...)
	return nil
}

// finishImport records the import's outcome and passes err on.
func (s *Service) finishImport(ctx context.Context, rep ImportReport, err error) error {
	if rep.Created+rep.Skipped+rep.Rejected == 0 && err != nil {
		return err
	}
	rerr := s.db.Tx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		return s.audit.Record(ctx, tx, audit.UserImportFinished(rep.Created, rep.Skipped, rep.Rejected))
	})
	if err != nil {
		return err
	}
	if rerr != nil {
		return fmt.Errorf("users: import: record outcome: %w", rerr)
	}
	return nil
}
