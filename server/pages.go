package server

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/flows"
	"github.com/identityd/identityd/sessions"
	"github.com/identityd/identityd/ui"
	"github.com/identityd/identityd/users"
)

// secure reports whether identityd is served over https, which its cookies then require.
func secure(cfg *config.Config) bool { return strings.HasPrefix(cfg.Issuer, "https://") }

// newSessions builds browser sessions and login flows. Sessions end with every change
// that must end them (password reset, disable, deletion), so they join the account
// service's revokers.
func (s *Server) newSessions(cfg *config.Config, accounts *users.Service) (*sessions.Service, *flows.Service, error) {
	sess, err := sessions.New(s.db, s.audit, time.Now, sessions.Config{
		IdleTimeout:     cfg.SessionIdleTimeout,
		AbsoluteTimeout: cfg.SessionAbsoluteTimeout,
		RememberFor:     cfg.SessionRememberFor,
		RememberIdle:    cfg.SessionRememberIdle,
		Secure:          secure(cfg),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("server: %w", err)
	}
	accounts.AddRevoker(sess)
	return sess, flows.New(s.db, time.Now, flows.DefaultTTL), nil
}

// newRenderer builds the pages' renderer with the operator's templates and logo.
func newRenderer(cfg *config.Config) (*ui.Renderer, *ui.Logo, error) {
	opts := ui.Options{Product: cfg.ProductName, OverrideDir: cfg.UITemplatesDir, PasswordMinLength: cfg.PasswordMinLength}
	var logo *ui.Logo
	if cfg.UILogoFile != "" {
		var err error
		if logo, err = ui.LoadLogo(cfg.UILogoFile); err != nil {
			return nil, nil, fmt.Errorf("server: ui_logo_file: %w", err)
		}
		opts.LogoURL = logo.URL
	}
	renderer, err := ui.NewRenderer(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("server: ui_templates_dir: %w", err)
	}
	return renderer, logo, nil
}

// newPages builds the sign-in, consent and account pages.
func (s *Server) newPages(cfg *config.Config, d ui.Deps, logo *ui.Logo) (*ui.Handler, error) {
	d.Keyring = s.kr
	d.Logger = s.log.With(slog.String("component", "ui"))
	h, err := ui.New(d, ui.Config{Secure: secure(cfg), RegistrationEnabled: cfg.RegistrationEnabled,
		PostsPerWindow: cfg.UIPostLimit, PostWindow: time.Minute, Logo: logo})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return h, nil
}
