package server

import (
	"io"
	"log/slog"

	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/identityd/identityd/config"
	"github.com/identityd/identityd/redact"
)

// NewLogger builds the process's logger from cfg: JSON or text, at the configured level,
// to stderr or to a size-rotated file. Every attribute passes through the redaction
// helper, so a secret logged by mistake under a telling name comes out as [REDACTED].
// The returned closer closes the log file, if any.
func NewLogger(cfg *config.Config, stderr io.Writer) (*slog.Logger, io.Closer) {
	out, closer := stderr, io.Closer(nopCloser{})
	if cfg.LogFile != "" {
		lj := &lumberjack.Logger{
			Filename:   cfg.LogFile,
			MaxSize:    cfg.LogFileMaxSizeMB,
			MaxBackups: cfg.LogFileMaxBackups,
			MaxAge:     cfg.LogFileMaxAgeDays,
			Compress:   true,
		}
		out, closer = lj, lj
	}
	opts := &slog.HandlerOptions{Level: cfg.LogLevel, ReplaceAttr: redact.ReplaceAttr}
	var h slog.Handler
	if cfg.LogFormat == "text" {
		h = slog.NewTextHandler(out, opts)
	} else {
		h = slog.NewJSONHandler(out, opts)
	}
	return slog.New(h), closer
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }
