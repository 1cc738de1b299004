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
	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/jobs"
	"github.com/identityd/identityd/keyring"
	"github.com/identityd/identityd/store"
)

// Server is a running identityd.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	db      *store.DB
	queue   *jobs.Queue
	tracer  *tracer
	release func()

	public, admin http.Handler
	servers       []*http.Server
	listeners     []net.Listener
}

// New builds identityd from cfg: it opens (and, unless told not to, migrates) the
// database, claims it on SQLite, and prepares the job queue and both HTTP handlers. It
// does not listen yet; see Listen.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, version string) (_ *Server, err error) {
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	if _, err := s.keyring(); err != nil {
		return nil, err
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

	migrator, err := store.NewMigrator(s.db, store.WithMigrationLogger(log))
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	if cfg.MigrateOnStart {
		if _, err := migrator.Up(ctx); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}

	tokens := admintokens.New(s.db, time.Now)
	workers := river.NewWorkers()
	river.AddWorker(workers, admintokens.NewCleanupWorker(tokens))
	s.queue, err = jobs.New(s.db, jobs.Config{
		Workers:    workers,
		Periodic:   []*river.PeriodicJob{admintokens.CleanupJob()},
		MaxWorkers: cfg.JobsMaxWorkers,
		Logger:     log.With(slog.String("component", "jobs")),
	})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}

	if s.tracer, err = newTracer(ctx, version); err != nil {
		return nil, err
	}
	reg := newRegistry(s.db)
	metrics := newHTTPMetrics(reg)
	ready := &readiness{db: s.db, migrator: migrator, logger: log}

	base := chainConfig{
		logger:         log,
		metrics:        metrics,
		trustedProxies: cfg.TrustedProxies,
		hsts:           strings.HasPrefix(cfg.Issuer, "https://"),
		bodyLimit:      cfg.HTTPBodyLimit,
		rateRequests:   cfg.RateLimitRequests,
		rateWindow:     cfg.RateLimitWindow,
	}

	publicMux := http.NewServeMux()
	publicMux.HandleFunc("GET /healthz", healthz)
	publicMux.Handle("GET /readyz", ready)
	pub := base
	pub.listener, pub.corsOrigins = "public", cfg.CORSAllowedOrigins
	s.public = s.tracer.wrap("public", chain(pub, publicMux))

	adminMux := http.NewServeMux()
	adminMux.HandleFunc("GET /healthz", healthz)
	adminMux.Handle("GET /readyz", ready)
	adminMux.Handle("GET /metrics", metricsHandler(reg))
	api.Register(adminMux, api.Deps{
		DB: s.db, Migrator: migrator, AdminTokens: tokens, Version: version,
		BodyLimit: cfg.HTTPBodyLimit, Logger: log,
	})
	adm := base
	adm.listener = "admin"
	s.admin = s.tracer.wrap("admin", chain(adm, adminMux))
	return s, nil
}

// keyring builds the data-encryption keyring. In dev mode a missing key is generated once
// and kept in the data directory, so that restarts can still read what was encrypted.
func (s *Server) keyring() (*keyring.Keyring, error) {
	keys := s.cfg.EncryptionKeys
	if len(keys) == 0 && s.cfg.Dev {
		key, created, err := keyring.LoadOrCreateDevKey(s.cfg.DataDir)
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		if created {
			s.log.Warn("dev mode: generated an encryption key and saved it in the data directory; set IDENTITYD_ENCRYPTION_KEYS in production",
				slog.String("data_dir", s.cfg.DataDir))
		}
		keys = [][]byte{key}
	}
	kr, err := keyring.New(keys)
	if err != nil {
		return nil, fmt.Errorf("server: encryption keys: %w", err)
	}
	return kr, nil
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

// Serve starts the job queue and serves until ctx ends, then shuts down gracefully within
// the configured shutdown timeout. It returns nil after a clean shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.queue.Start(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
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
	var shutdownErrs []error
	for _, srv := range s.servers {
		if err := srv.Shutdown(sctx); err != nil {
			shutdownErrs = append(shutdownErrs, fmt.Errorf("server: drain requests: %w", err))
		}
	}
	if err := s.queue.Stop(sctx); err != nil {
		shutdownErrs = append(shutdownErrs, err)
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
