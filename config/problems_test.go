package config_test

import (
	"strings"
	"testing"

	"github.com/identityd/identityd/config"
)

func TestErrorRendersOneLinePerProblem(t *testing.T) {
	tests := []struct {
		name     string
		problems config.Problems
		want     string
	}{
		{
			name:     "a value is Go-quoted",
			problems: config.Problems{{Key: "log_level", Source: "IDENTITYD_LOG_LEVEL", Value: "loud", Why: "not a log level", Fix: "use debug, info, warn or error"}},
			want:     `log_level = "loud" (from IDENTITYD_LOG_LEVEL): not a log level. Fix: use debug, info, warn or error.`,
		},
		{
			name:     "a problem without a value leaves out the value",
			problems: config.Problems{{Key: "issuer", Source: "default", Why: "required outside dev mode", Fix: "set IDENTITYD_ISSUER"}},
			want:     `issuer (from default): required outside dev mode. Fix: set IDENTITYD_ISSUER.`,
		},
		{
			name:     "a secret setting's value is redacted whatever Value holds",
			problems: config.Problems{{Key: "database_url", Source: "IDENTITYD_DATABASE_URL", Value: "postgres://u:hunter2@db", Why: "bad", Fix: "fix it"}},
			want:     `database_url = [redacted] (from IDENTITYD_DATABASE_URL): bad. Fix: fix it.`,
		},
		{
			name:     "control characters are escaped",
			problems: config.Problems{{Key: "log_file", Source: "config.yaml line 2", Value: "a\x1b[31mb\nc", Why: "bad", Fix: "fix it"}},
			want:     `log_file = "a\x1b[31mb\nc" (from config.yaml line 2): bad. Fix: fix it.`,
		},
		{
			name:     "a long value is cut to 80 characters",
			problems: config.Problems{{Key: "log_file", Source: "IDENTITYD_LOG_FILE", Value: strings.Repeat("é", 81), Why: "bad", Fix: "fix it"}},
			want:     `log_file = "` + strings.Repeat("é", 80) + `"... (from IDENTITYD_LOG_FILE): bad. Fix: fix it.`,
		},
		{
			name:     "a value of exactly 80 characters is whole",
			problems: config.Problems{{Key: "log_file", Source: "IDENTITYD_LOG_FILE", Value: strings.Repeat("a", 80), Why: "bad", Fix: "fix it"}},
			want:     `log_file = "` + strings.Repeat("a", 80) + `" (from IDENTITYD_LOG_FILE): bad. Fix: fix it.`,
		},
		{
			name: "sentences that already end keep their punctuation, and problems are joined by newlines",
			problems: config.Problems{
				{Key: "IDENTITYD_ISUER", Source: "environment", Why: "not a known setting; did you mean IDENTITYD_ISSUER?", Fix: "rename it."},
				{Key: "issuer", Source: "default", Why: "required", Fix: "set it"},
			},
			want: "IDENTITYD_ISUER (from environment): not a known setting; did you mean IDENTITYD_ISSUER? Fix: rename it.\n" +
				"issuer (from default): required. Fix: set it.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.problems.Error(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
