package config_test

import (
	"testing"
	"time"

	"github.com/identityd/identityd/config"
)

func TestSigningKeysMustSignBeforeTheyAreReplaced(t *testing.T) {
	wantError(t, config.Sources{Env: prodEnv("IDENTITYD_SIGNING_KEY_ROTATION=24h", "IDENTITYD_SIGNING_KEY_PUBLISH_LEAD=24h")},
		`signing_key_rotation = "24h" (from IDENTITYD_SIGNING_KEY_ROTATION): is not longer than signing_key_publish_lead (24h) and a minute, `+
			`so a key would be replaced before it signed anything. Fix: rotate less often, or shorten signing_key_publish_lead.`)
	c := mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_SIGNING_KEY_ROTATION=48h", "IDENTITYD_SIGNING_KEY_PUBLISH_LEAD=24h")})
	if c.SigningKeyRotation != 48*time.Hour || c.SigningKeyPublishLead != 24*time.Hour {
		t.Errorf("rotation %s, lead %s; want 48h and 24h", c.SigningKeyRotation, c.SigningKeyPublishLead)
	}
}

func TestAccessTokenAlgorithmIsES256OrRS256(t *testing.T) {
	wantError(t, config.Sources{Env: prodEnv("IDENTITYD_OAUTH_ACCESS_TOKEN_ALG=HS256")},
		`oauth_access_token_alg = "HS256" (from IDENTITYD_OAUTH_ACCESS_TOKEN_ALG): not a supported algorithm. Fix: use ES256 or RS256.`)
	if got := mustLoad(t, config.Sources{Env: prodEnv("IDENTITYD_OAUTH_ACCESS_TOKEN_ALG=rs256")}).OAuthAccessTokenAlg; got != "RS256" {
		t.Errorf("OAuthAccessTokenAlg = %q, want RS256", got)
	}
}

func TestAuthorizationCodesLiveAtMostTenMinutes(t *testing.T) {
	wantError(t, config.Sources{Env: prodEnv("IDENTITYD_OAUTH_CODE_LIFETIME=1h")},
		`oauth_code_lifetime = "1h" (from IDENTITYD_OAUTH_CODE_LIFETIME): above the maximum of 10m. Fix: use a duration from 10s to 10m.`)
}
