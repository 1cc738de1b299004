package server

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/mail"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/users"
)

// Hasher builds the password hasher the configuration describes. With no memory budget
// set, it allows two hashes per CPU: enough to keep every core busy while other sign-ins
// wait on the database, and no more memory than that needs.
func Hasher(cfg *config.Config) (*passwords.Hasher, error) {
	p := passwords.DefaultParams()
	p.Memory = uint32(cfg.PasswordHashMemory >> 10)
	p.Time = uint32(cfg.PasswordHashIterations)
	p.Threads = uint8(cfg.PasswordHashParallelism)
	budget := cfg.PasswordHashMemoryBudget
	if budget == 0 {
		budget = int64(2*runtime.NumCPU()) * cfg.PasswordHashMemory
	}
	h, err := passwords.New(passwords.Config{Params: p, MemoryBudget: budget})
	if err != nil {
		return nil, fmt.Errorf("server: password hashing: %w", err)
	}
	return h, nil
}

// Policy is the password policy the configuration describes.
func Policy(cfg *config.Config) passwords.Policy {
	return passwords.Policy{MinLength: cfg.PasswordMinLength, MaxBytes: cfg.PasswordMaxBytes, MinScore: cfg.PasswordMinScore}
}

// UsersConfig is the account rules the configuration describes.
func UsersConfig(cfg *config.Config) users.Config {
	return users.Config{
		BaseURL:         cfg.Issuer,
		Policy:          Policy(cfg),
		VerificationTTL: cfg.EmailVerificationTTL,
		ResetTTL:        cfg.PasswordResetTTL,
		Throttle: users.ThrottleConfig{
			BackoffAfter:       cfg.LoginBackoffAfter,
			BackoffBase:        cfg.LoginBackoffBase,
			BackoffMax:         cfg.LoginBackoffMax,
			LockAfter:          cfg.LoginLockoutAfter,
			NetworkMaxFailures: cfg.LoginNetworkMaxFailures,
			NetworkWindow:      cfg.LoginNetworkWindow,
		},
	}
}

// mailSender is where email goes: the SMTP server when one is configured, the log in
// dev mode, nowhere (nil) otherwise.
func mailSender(cfg *config.Config, log *slog.Logger) (mail.Sender, error) {
	switch {
	case cfg.SMTPURL != "":
		s, err := mail.NewSMTPSender(mail.SMTPConfig{URL: cfg.SMTPURL, From: cfg.MailFrom})
		if err != nil {
			return nil, fmt.Errorf("server: mail: %w", err)
		}
		return s, nil
	case cfg.Dev:
		log.Warn("no smtp_url: email is written to this log instead of being sent (dev mode)")
		return mail.NewLogSender(log.With(slog.String("component", "mail"))), nil
	default:
		log.Warn("no smtp_url: verification, password reset and lockout emails are off")
		return nil, nil
	}
}

// laterQueue enqueues on a job queue made after it. The queue needs its workers when it
// is made, the workers need the services, and the services need somewhere to enqueue:
// this breaks the circle. Nothing enqueues before New has set q.
type laterQueue struct{ q *jobs.Queue }

func (l *laterQueue) Enqueue(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (int64, error) {
	return l.q.Enqueue(ctx, tx, args, opts)
}

// newUsers builds the account service, and the mail worker and queue when email goes
// anywhere.
func (s *Server) newUsers(cfg *config.Config, q mail.Enqueuer, workers *river.Workers, queues map[string]int) (_ *users.Service, err error) {
	if s.hasher, err = Hasher(cfg); err != nil {
		return nil, err
	}
	d := users.Deps{DB: s.db, Keyring: s.kr, Hasher: s.hasher, Audit: s.audit,
		Logger: s.log.With(slog.String("component", "users"))}
	sender, err := mailSender(cfg, s.log)
	if err != nil {
		return nil, err
	}
	if sender != nil {
		if d.Mail, err = mail.NewRenderer(cfg.ProductName); err != nil {
			return nil, fmt.Errorf("server: mail: %w", err)
		}
		d.Outbox, d.Jobs = mail.NewOutbox(s.kr, q), q
		river.AddWorker(workers, mail.NewWorker(s.kr, sender, s.log.With(slog.String("component", "mail"))))
		queues[mail.QueueName] = max(1, min(cfg.JobsMaxWorkers, 4))
	}
	u, err := users.New(d, UsersConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if sender != nil {
		river.AddWorker(workers, users.NewRequestWorker(u))
	}
	return u, nil
}
