package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/requestinfo"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/validation"
)

// Enqueuer adds a job in a transaction; *jobs.Queue is one.
type Enqueuer interface {
	Enqueue(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error)
}

// Self-service requests — registering, asking for a reset link — are answered the same
// way whether or not the address has an account, and must take the same time too, or
// their timing would tell. So the request does only what does not depend on the
// address — checking the form, hashing the password — and queues the rest as a job,
// sealed, since it holds an address and a password hash. Whoever asked sees the same
// page after the same work; the job then creates the account or tells the owner that
// they have one, sends the link or nothing.

// requestKinds of a sealed self-service request.
const (
	requestRegister = "register"
	requestReset    = "reset"
)

// sealedRequestAAD binds a sealed request to its purpose.
var sealedRequestAAD = []byte("users.self_service")

// selfServiceRequest is what a self-service job carries, sealed: the request and who made
// it, for the audit events the job records.
type selfServiceRequest struct {
	Kind      string `json:"kind"`
	Email     string `json:"email"`
	Name      string `json:"name,omitempty"`
	Hash      string `json:"hash,omitempty"`
	ClientIP  string `json:"client_ip,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
	RequestID string `json:"request_id,omitempty"`
}

// RequestArgs is the job that carries out a self-service request.
type RequestArgs struct {
	// Sealed is the keyring-encrypted JSON of the request.
	Sealed []byte `json:"sealed"`
}

// Kind names the job.
func (RequestArgs) Kind() string { return "users.self_service" }

// InsertOpts bounds the attempts: a request that cannot be carried out in an hour of
// retries is stale.
func (RequestArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 8} }

// Register asks for an account with email, name and password. A form that is not
// acceptable (address, name, password policy) is a *ValidationError; otherwise it
// answers nil whether or not the address has an account already. The account is made
// by a job, which sends it a verification link; an owner who has an account gets a
// notice instead, with a link to sign in.
func (s *Service) Register(ctx context.Context, email, name, password string) error {
	if s.outbox == nil || s.jobs == nil {
		return ErrMailUnavailable
	}
	n, _, err := s.checkNew(NewUser{Email: email, Name: name, Password: password})
	if err != nil {
		return err
	}
	if password == "" {
		return validation.One(scope, "password", "is required")
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("users: register: %w", err)
	}
	return s.enqueueRequest(ctx, selfServiceRequest{Kind: requestRegister, Email: n.Email, Name: n.Name, Hash: hash})
}

// RequestPasswordReset sends a reset link to the account with this email address, if
// there is one that may sign in. It answers nil whether or not there is, after the same
// work, so that it cannot be used to find out which addresses have accounts; a
// malformed address is a *ValidationError.
func (s *Service) RequestPasswordReset(ctx context.Context, email string) error {
	if s.outbox == nil || s.jobs == nil {
		return ErrMailUnavailable
	}
	e, why := checkEmail(email)
	if why != "" {
		return validation.One(scope, "email", why)
	}
	return s.enqueueRequest(ctx, selfServiceRequest{Kind: requestReset, Email: e})
}

// enqueueRequest seals r, with who made it, and queues it.
func (s *Service) enqueueRequest(ctx context.Context, r selfServiceRequest) error {
	info := requestinfo.From(ctx)
	if info.ClientIP.IsValid() {
		r.ClientIP = info.ClientIP.String()
	}
	r.UserAgent, r.RequestID = info.UserAgent, info.ID
	plain, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("users: %s request: %w", r.Kind, err)
	}
	sealed, err := s.kr.Encrypt(plain, sealedRequestAAD)
	if err != nil {
		return fmt.Errorf("users: %s request: %w", r.Kind, err)
	}
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		_, err := s.jobs.Enqueue(ctx, tx, RequestArgs{Sealed: sealed}, nil)
		return err
	})
	if err != nil {
		return fmt.Errorf("users: %s request: %w", r.Kind, err)
	}
	return nil
}

// RequestWorker carries out self-service requests.
type RequestWorker struct {
	river.WorkerDefaults[RequestArgs]
	users *Service
}

// NewRequestWorker returns a worker that carries out requests through s.
func NewRequestWorker(s *Service) *RequestWorker { return &RequestWorker{users: s} }

// Work opens the request and carries it out, as its requester: the audit events it
// records name their address and request id.
func (w *RequestWorker) Work(ctx context.Context, job *river.Job[RequestArgs]) error {
	s := w.users
	plain, err := s.kr.Decrypt(job.Args.Sealed, sealedRequestAAD)
	if err != nil {
		// Sealed under a key this replica lacks: restoring the key makes a retry work.
		return fmt.Errorf("users: self-service request %d: %w", job.ID, err)
	}
	var r selfServiceRequest
	if err := json.Unmarshal(plain, &r); err != nil {
		return river.JobCancel(fmt.Errorf("users: self-service request %d: %w", job.ID, err))
	}
	info := &requestinfo.Info{ID: r.RequestID, UserAgent: r.UserAgent}
	if ip, err := netip.ParseAddr(r.ClientIP); err == nil {
		info.ClientIP = ip
	}
	ctx = requestinfo.With(ctx, info)
	switch r.Kind {
	case requestRegister:
		return s.completeRegistration(ctx, r)
	case requestReset:
		return s.completeResetRequest(ctx, r.Email)
	}
	return river.JobCancel(fmt.Errorf("users: self-service request %d: unknown kind %q", job.ID, r.Kind))
}

// completeRegistration creates the account a registration asked for and sends it a
// verification link, or tells the owner of the address that they have an account.
func (s *Service) completeRegistration(ctx context.Context, r selfServiceRequest) error {
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		u, err := s.insert(ctx, tx, NewUser{Email: r.Email, Name: r.Name, Source: SourceRegistration}, emptyObject, r.Hash)
		var ce *ConflictError
		if errors.As(err, &ce) {
			return s.sendAlreadyRegistered(ctx, tx, r.Email)
		}
		if err != nil {
			return err
		}
		url, err := s.issueToken(ctx, tx, u.ID, purposeVerify, emailKey(u.Email), s.cfg.VerificationTTL, VerifyPath)
		if err != nil {
			return err
		}
		m, err := s.mail.Verification(u.Email, u.Name, url, s.cfg.VerificationTTL)
		if err != nil {
			return err
		}
		if err := s.outbox.Send(ctx, tx, m); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.UserEmailVerificationSent(u.ID))
	})
	if err != nil {
		return fmt.Errorf("users: register: %w", err)
	}
	return nil
}

// sendAlreadyRegistered tells the owner of email that someone tried to register with it.
func (s *Service) sendAlreadyRegistered(ctx context.Context, tx *store.Tx, email string) error {
	var name string
	if err := tx.QueryRow(ctx, `SELECT name FROM users WHERE email_key = $1`, emailKey(email)).Scan(&name); err != nil {
		return err
	}
	m, err := s.mail.AlreadyRegistered(email, name, s.cfg.BaseURL+LoginPath)
	if err != nil {
		return err
	}
	return s.outbox.Send(ctx, tx, m)
}

// completeResetRequest sends a reset link to the account with email, if one may sign in.
func (s *Service) completeResetRequest(ctx context.Context, email string) error {
	var id string
	err := s.db.QueryRow(ctx, `SELECT id FROM users WHERE email_key = $1 AND status <> 'disabled'`, emailKey(email)).Scan(&id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("users: reset request: %w", err)
	}
	if err := s.SendPasswordReset(ctx, id); err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrDisabled) {
		return err
	}
	return nil
}
