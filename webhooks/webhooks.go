// Package webhooks sends sealed audit events to URLs that operators subscribe.
//
// A subscription names a URL and the event types it wants ("*", "admin.token.*",
// "system.started"). When the audit sealer seals events, Dispatch runs in its
// transaction and gives every enabled subscription whose patterns match a delivery: a
// row in the delivery log, with the payload frozen, and a durable job on the QueueName
// queue. Sealing happens once per event, and a delivery row is unique per (subscription,
// event), so each event reaches each subscription once.
//
// The worker POSTs the payload in the Standard Webhooks layout
// (https://www.standardwebhooks.com): webhook-id (the delivery id, the same on every
// retry, for the receiver to deduplicate on), webhook-timestamp and a v1 HMAC-SHA256
// webhook-signature under the subscription's secret. A 2xx answer delivers it; anything
// else is retried with exponential backoff until the attempts run out, and then the
// delivery is marked failed. No transaction is held while a receiver is called, and
// deliveries have a queue of their own, so a receiver that is down slows nothing else.
//
// Subscriptions point identityd at arbitrary URLs, so unless private networks are
// allowed, the worker refuses to connect to loopback, private, link-local, CGNAT and
// other non-public addresses. The check runs on the address actually dialled, after DNS
// resolution, so a name that resolves (or is re-pointed) to an internal address is
// refused too; redirects are never followed.
//
// Every change to a subscription records its audit event in the same transaction.
// Secrets are kept only encrypted (keyring), and are shown once: by Create and by
// RotateSecret.
package webhooks

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/validation"
)

// QueueName is the jobs queue that deliveries run on. The server gives it workers of its
// own, so that slow receivers never hold up other jobs.
const QueueName = "webhooks"

// Defaults for a zero Config.
const (
	DefaultTimeout     = 10 * time.Second
	DefaultMaxAttempts = 10
	DefaultRetryBase   = 10 * time.Second
)

// maxRetryDelay caps the backoff between attempts.
const maxRetryDelay = time.Hour

// Config tunes deliveries.
type Config struct {
	// Timeout bounds one delivery attempt, from dialling to the end of the response;
	// 10s when zero.
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before it is marked failed; 10
	// when zero.
	MaxAttempts int
	// RetryBase is the delay before the first retry; each later one doubles it, up to an
	// hour, with ±10% jitter. 10s when zero.
	RetryBase time.Duration
	// AllowPrivateNetworks lets deliveries reach loopback, private, link-local,
	// unspecified, CGNAT and other non-public addresses (cloud metadata services among
	// them). Leave it false unless every receiver is on a network you trust: a
	// subscription is otherwise a way to make identityd send requests into that network.
	AllowPrivateNetworks bool
	// Logger receives delivery failures; nil discards them.
	Logger *slog.Logger
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.RetryBase <= 0 {
		c.RetryBase = DefaultRetryBase
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Service manages subscriptions, dispatches sealed events to them and delivers them. It
// is safe for concurrent use.
type Service struct {
	db     *store.DB
	kr     *keyring.Keyring
	log    *audit.Log
	cfg    Config
	now    func() time.Time
	client *http.Client
}

// New returns a Service over db that keeps secrets encrypted with kr and records changes
// in log; now is the clock (time.Now in production).
func New(db *store.DB, kr *keyring.Keyring, log *audit.Log, cfg Config, now func() time.Time) *Service {
	cfg = cfg.withDefaults()
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, kr: kr, log: log, cfg: cfg, now: now, client: newClient(cfg)}
}

var (
	// ErrNotFound means no subscription has the given id.
	ErrNotFound = errors.New("webhooks: no such subscription")
	// ErrBadCursor means a list cursor was not one List or Deliveries made.
	ErrBadCursor = store.ErrBadCursor
)

// ValidationError says why a request was refused, in words for the caller: the first
// field at fault.
type ValidationError = validation.Error

// scope begins the messages of this package's refusals.
const scope = "webhooks"

// MaxPageSize bounds one page of List and Deliveries.
const MaxPageSize = 500

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxPageSize {
		return validation.One(scope, "limit", "must be between 1 and "+strconv.Itoa(MaxPageSize))
	}
	return nil
}

// stamp is the clock's time as the database keeps it: UTC, in microseconds.
func (s *Service) stamp() time.Time { return s.now().UTC().Truncate(time.Microsecond) }
