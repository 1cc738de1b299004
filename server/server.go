// Package server is identityd's composition root: it builds every part from the
// configuration, serves the public and admin listeners through the middleware chain, and
// shuts down in order — stop accepting, drain in-flight requests, let running jobs finish,
// close the database.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/identityd/identityd/admintokens"
	"github.com/identityd/identityd/api"
	"github.com/identityd/identityd/audit"
	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/oauth"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/ui"
	"github.com/identityd/identityd/users"
	"github.com/identityd/identityd/webhooks"
)

// Server is a running identityd.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	version string
	db      *store.DB
	kr      *keyring.Keyring
	queue   *jobs.Queue
	tracer  *tracer
	release func()

	audit  *audit.Log
	hasher *passwords.Hasher
	hub    *audit.Hub
	sealer *audit.Sealer
	// shutdown is closed when shutdown begins, to end live streams, which would
	// otherwise keep the drain waiting for its whole timeout.
	shutdown chan struct{}

	// background are the caches' listeners, run while the server serves.
	background []func(ctx context.Context)

	public, admin http.Handler
	servers       []*http.Server
	listeners     []net.Listener
}

// New builds identityd from cfg: it opens (and, unless told not to, migrates) the
// database, claims it on SQLite, and prepares the audit log, the job queue and both HTTP
// handlers. It does not listen yet; see Listen.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, version string) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log, version: version, shutdown: make(chan struct{})}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	if s.kr, err = Keyring(cfg, cfg.Dev, log); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.db, err = store.Open(ctx, cfg.DatabaseURL, store.Options{
		ConnectTimeout: cfg.DatabaseConnectTimeout, MaxConns: cfg.DatabaseMaxConns, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if s.release, err = s.db.ClaimServer(); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	log.InfoContext(ctx, "database open", slog.String("database", s.db.String()))

	if s.audit, err = audit.New(s.db, s.kr, time.Now); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	migrator, err := store.NewMigrator(s.db, store.WithMigrationLogger(log))
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.MigrateOnStart {
		applied, err := migrator.Up(ctx)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		if err := RecordMigrations(ctx, s.audit, applied, true); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	// With migrations pending (migrate_on_start off), the server starts but is not ready
	// (readyz); what reads the schema at start waits for the jobs that run later.
	current, latest, err := migrator.Version(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	schemaCurrent := current == latest
	if !schemaCurrent {
		log.WarnContext(ctx, "database migrations are pending; not ready until they are applied",
			slog.Int64("version", current), slog.Int64("latest", latest))
	}
	if err := s.audit.Prepare(ctx); err != nil {
		// Only slower without it; readiness reports a schema that is behind.
		log.WarnContext(ctx, "could not prepare the audit log's statements", slog.String("error", err.Error()))
	}

	tokens := admintokens.New(s.db, time.Now, s.audit)
	hooks := webhooks.New(s.db, s.kr, s.audit, webhooks.Config{
		Timeout:              cfg.WebhookTimeout,
		MaxAttempts:          cfg.WebhookMaxAttempts,
		AllowPrivateNetworks: cfg.WebhookAllowPrivateNetworks,
		Logger:               log.With(slog.String("component", "webhooks")),
	}, time.Now)
	workers := river.NewWorkers()
	queues := map[string]int{webhooks.QueueName: cfg.JobsMaxWorkers}
	later := &laterQueue{}
	accounts, err := s.newUsers(cfg, later, workers, queues)
	if err != nil {
		return nil, err
	}
	river.AddWorker(workers, webhooks.NewWorker(hooks))
	browserSessions, loginFlows, err := s.newSessions(cfg, accounts)
	if err != nil {
		return nil, err
	}
	registry, keys, err := s.newClientsAndKeys(ctx, cfg, schemaCurrent)
	if err != nil {
		return nil, err
	}
	renderer, logo, err := newRenderer(cfg)
	if err != nil {
		return nil, err
	}
	provider, err := s.newProvider(ctx, cfg, oauth.Deps{Clients: registry, Keys: keys, Users: accounts,
		Sessions: browserSessions, Pages: ui.NewErrorPage(renderer, s.log.With(slog.String("component", "ui"))), Jobs: later},
		workers, queues, schemaCurrent)
	if err != nil {
		return nil, err
	}
	tasks := []jobs.Task{admintokens.CleanupTask(tokens), webhooks.CleanupTask(hooks), users.CleanupTask(accounts),
		sessions.CleanupTask(browserSessions), flows.CleanupTask(loginFlows), signingkeys.MaintainTask(keys),
		oauth.CleanupTask(provider)}
	if cfg.AuditRetention > 0 {
		tasks = append(tasks, audit.PruneTask(s.audit, cfg.AuditRetention))
	}
	s.queue, err = jobs.New(s.db, jobs.Config{
		Workers:    workers,
		Tasks:      tasks,
		MaxWorkers: cfg.JobsMaxWorkers,
		// Deliveries and mail wait on other people's servers; queues of their own keep a
		// slow receiver from holding up every other job.
		Queues: queues,
		Logger: log.With(slog.String("component", "jobs")),
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	later.q = s.queue
	if err := accounts.Prepare(ctx); err != nil {
		log.WarnContext(ctx, "could not prepare the account statements", slog.String("error", err.Error()))
	}
	s.hub = audit.NewHub()
	s.sealer = audit.NewSealer(s.audit, s.hub, audit.SealerConfig{
		CheckpointEvery: cfg.AuditCheckpointInterval,
		// Deliveries are enqueued in the sealing transaction: exactly once per sealed
		// event, and never in a request's path.
		OnSealed: func(ctx context.Context, tx *store.Tx, events []audit.Event) error {
			return hooks.Dispatch(ctx, tx, s.queue, events)
		},
		Logger: log.With(slog.String("component", "audit")),
	})

	if s.tracer, err = newTracer(ctx, version); err != nil {
		return nil, err
	}
	reg := newRegistry(s.db, s.hasher)
	metrics := newHTTPMetrics(reg)
	ready := &readiness{db: s.db, migrator: migrator, logger: log}

	base := chainConfig{
		logger:         log,
		metrics:        metrics,
		trustedProxies: cfg.TrustedProxies,
		hsts:           secure(cfg),
		bodyLimit:      cfg.HTTPBodyLimit,
		rateRequests:   cfg.RateLimitRequests,
		rateWindow:     cfg.RateLimitWindow,
	}

	publicMux := http.NewServeMux()
	publicMux.HandleFunc("GET /healthz", healthz)
	publicMux.Handle("GET /readyz", ready)
	pages, err := s.newPages(cfg, ui.Deps{Users: accounts, Sessions: browserSessions, Flows: loginFlows, Renderer: renderer,
		Apps: provider}, logo)
	if err != nil {
		return nil, err
	}
	pages.Register(publicMux)
	provider.Register(publicMux)
	pub := base
	pub.listener, pub.corsOrigins = "public", cfg.CORSAllowedOrigins
	s.public = s.tracer.wrap("public", chain(pub, publicMux))

	adminMux := http.NewServeMux()
	adminMux.HandleFunc("GET /healthz", healthz)
	adminMux.Handle("GET /readyz", ready)
	adminMux.Handle("GET /metrics", metricsHandler(reg))
	api.Register(adminMux, api.Deps{
		DB: s.db, Migrator: migrator, AdminTokens: tokens, Audit: s.audit, AuditHub: s.hub, Webhooks: hooks,
		Users: accounts, Sessions: browserSessions, Clients: registry, Keys: keys, ImportMaxBytes: cfg.UserImportMaxBytes,
		Shutdown: s.shutdown, Version: version, BodyLimit: cfg.HTTPBodyLimit, Logger: log,
	})
	adm := base
	adm.listener = "admin"
	adm.bodyLimits = map[string]int64{http.MethodPost + " " + api.ImportPath: cfg.UserImportMaxBytes}
	s.admin = s.tracer.wrap("admin", chain(adm, adminMux))
	return s, nil
}

// Handlers returns the public and admin handlers, for tests that serve them themselves.
func (s *Server) Handlers() (public, admin http.Handler) { return s.public, s.admin }

// adminPaths are served from the admin handler when both listeners share one address.
var adminPaths = []string{"/v1/", "/docs", "/metrics"}

// Listen binds the public and admin addresses, or one address serving both when they
// are the same. Binding before serving makes a taken port an error at start.
func (s *Server) Listen() error {
	type binding struct {
		name, addr string
		handler    http.Handler
	}
	bindings := []binding{{"public", s.cfg.PublicAddr, s.public}, {"admin", s.cfg.AdminAddr, s.admin}}
	if s.cfg.PublicAddr == s.cfg.AdminAddr {
		bindings = []binding{{"public+admin", s.cfg.PublicAddr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, p := range adminPaths {
				if strings.HasPrefix(r.URL.Path, p) {
					s.admin.ServeHTTP(w, r)
					return
				}
			}
			s.public.ServeHTTP(w, r)
		})}}
	}
	for _, b := range bindings {
		ln, err := net.Listen("tcp", b.addr)
		if err != nil {
			return fmt.Errorf("server: listen on %s (%s): %w", b.addr, b.name, err)
		}
		s.listeners = append(s.listeners, ln)
		s.servers = append(s.servers, &http.Server{
			Handler:           b.handler,
			ReadHeaderTimeout: min(10*time.Second, s.cfg.HTTPReadTimeout),
			ReadTimeout:       s.cfg.HTTPReadTimeout,
			WriteTimeout:      s.cfg.HTTPWriteTimeout,
			IdleTimeout:       s.cfg.HTTPIdleTimeout,
			MaxHeaderBytes:    64 << 10,
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		})
		s.log.Info("listening", slog.String("listener", b.name), slog.String("addr", ln.Addr().String()))
	}
	return nil
}

// Addrs are the bound addresses, public first; after Listen.
func (s *Server) Addrs() []net.Addr {
	out := make([]net.Addr, 0, len(s.listeners))
	for _, ln := range s.listeners {
		out = append(out, ln.Addr())
	}
	return out
}

// Serve starts the job queue and the audit sealer, records the start, and serves until
// ctx ends; then it shuts down gracefully within the configured shutdown timeout: stop
// accepting, drain in-flight requests, let running jobs finish, record the stop and seal
// it. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.queue.Start(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	// The sealer and the stream hub outlive ctx: they still have the stop to seal.
	bg, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	background := make(chan struct{}, 2+len(s.background))
	go func() { s.sealer.Run(bg); background <- struct{}{} }()
	go func() { s.hub.Listen(bg, s.audit, s.log); background <- struct{}{} }()
	for _, run := range s.background {
		go func() { run(bg); background <- struct{}{} }()
	}
	// Recorded before the first request, and even when a signal has already ended ctx:
	// a start that served nothing still happened.
	rctx, cancelRecord := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	s.recordStart(rctx)
	cancelRecord()

	errs := make(chan error, len(s.servers))
	for i, srv := range s.servers {
		go func() {
			if err := srv.Serve(s.listeners[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
	}
	var serveErr error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down: draining requests and jobs", slog.Duration("timeout", s.cfg.ShutdownTimeout))
	case serveErr = <-errs:
		s.log.Error("listener failed; shutting down", slog.String("error", serveErr.Error()))
	}

	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	close(s.shutdown)
	var shutdownErrs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(sctx); err != nil {
			shutdownErrs = append(shutdownErrs, fmt.Errorf("server: drain requests: %w", err))
		}
	}
	if err := s.queue.Stop(sctx); err != nil {
		shutdownErrs = append(shutdownErrs, err)
	}
	if err := s.audit.RecordNow(sctx, audit.SystemStopped()); err != nil {
		shutdownErrs = append(shutdownErrs, fmt.Errorf("server: record the stop: %w", err))
	}
	stopBackground()
	for range 2 + len(s.background) {
		<-background
	}
	// One last round, so that what was recorded during the drain is sealed now rather
	// than at the next start.
	if _, err := s.sealer.Seal(sctx); err != nil {
		shutdownErrs = append(shutdownErrs, fmt.Errorf("server: seal the audit log: %w", err))
	}
	if err := s.tracer.shutdown(sctx); err != nil {
		shutdownErrs = append(shutdownErrs, fmt.Errorf("server: flush traces: %w", err))
	}
	if serveErr != nil {
		return fmt.Errorf("server: %w", serveErr)
	}
	return errors.Join(shutdownErrs...)
}

// Close releases the database and the SQLite claim. Call it after Serve returns, or
// instead of Serve when start-up fails.
func (s *Server) Close() {
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
	if s.release != nil {
		s.release()
	}
}
