package config_test

import (
	"testing"

	"github.com/identityd/identityd/config"
)

func TestLockoutMustComeAfterTheBackoffStarts(t *testing.T) {
	wantError(t, config.Sources{Env: prodEnv("IDENTITYD_LOGIN_BACKOFF_AFTER=10", "IDENTITYD_LOGIN_LOCKOUT_AFTER=10")},
		`login_lockout_after = "10" (from IDENTITYD_LOGIN_LOCKOUT_AFTER): is not more than login_backoff_after (10). Fix: use 0 to never lock, or a number above login_backoff_after.`)
	if got := mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_LOGIN_LOCKOUT_AFTER=0")}).LoginLockoutAfter; got != 0 {
		t.Errorf("LoginLockoutAfter = %d, want 0 (never lock)", got)
	}
}

func TestOpenRegistrationNeedsEmailOutsideDev(t *testing.T) {
	wantError(t, config.Sources{Env: prodEnv("IDENTITYD_REGISTRATION_ENABLED=true")},
		`registration_enabled = "true" (from IDENTITYD_REGISTRATION_ENABLED): needs email to confirm the addresses people register with, and smtp_url is not set. `+
			`Fix: set smtp_url, or leave registration off and create accounts with the API or identityd users create.`)
	mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_REGISTRATION_ENABLED=true", "IDENTITYD_SMTP_URL=smtps://smtp.example.com")})
	mustLoad(t, config.Sources{Env: []string{"IDENTITYD_REGISTRATION_ENABLED=true"}, Dev: true})
}

func TestASessionsIdleTimeoutMayNotOutliveItsLifetime(t *testing.T) {
	wantError(t, config.Sources{Env: prodEnv("IDENTITYD_SESSION_IDLE_TIMEOUT=24h", "IDENTITYD_SESSION_REMEMBER_IDLE=1000h")}, ""+
		`session_idle_timeout = "24h" (from IDENTITYD_SESSION_IDLE_TIMEOUT): is longer than session_absolute_timeout (12h), so it would never apply. Fix: use an idle timeout no longer than session_absolute_timeout.`+"\n"+
		`session_remember_idle = "1000h" (from IDENTITYD_SESSION_REMEMBER_IDLE): is longer than session_remember_for (720h), so it would never apply. Fix: use an idle timeout no longer than session_remember_for.`)
}
