package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/server"
)

func newServeCmd(e *env) *cobra.Command {
	var dev bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run identityd: the public and the admin listener",
		Long: `Run identityd until SIGINT or SIGTERM, then drain in-flight requests and jobs.

--dev is for a laptop: it allows an http issuer on loopback, generates missing secrets once
and keeps them in the data directory, and logs as text. Without it, insecure settings are
refused at start with a message naming the setting and the fix.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd, e, dev, true)
			if err != nil {
				return err
			}
			log, closer := server.NewLogger(cfg, e.stderr)
			defer closer.Close()
			ctx := cmd.Context()
			if dev {
				log.Warn("dev mode: not for production", slog.String("issuer", cfg.Issuer))
			}
			s, err := server.New(ctx, cfg, log, version())
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Listen(); err != nil {
				return err
			}
			log.Info("identityd started", slog.String("version", version()), slog.String("issuer", cfg.Issuer))
			if dev {
				log.Info(fmt.Sprintf("dev mode: management API docs at http://%s/docs; create an admin token with: identityd admin token create", s.Addrs()[len(s.Addrs())-1]))
			}
			if err := s.Serve(ctx); err != nil {
				return err
			}
			log.Info("identityd stopped")
			return nil
		},
	}
	cmd.Flags().BoolVar(&dev, "dev", false, "development mode: http issuer on loopback, generated secrets, text logs")
	return cmd
}
