package signingkeys_test

import (
	"strings"
	"testing"
	"time"

	"github.com/identityd/identityd/audit/audittest"
	"github.com/identityd/identityd/signingkeys"
	"github.com/identityd/identityd/store/storetest"
)

func TestNewRefusesConfigurationsThatBreakTheSchedule(t *testing.T) {
	db := storetest.SQLite(t)
	kr, log := newKeyring(t, encKey1), audittest.NewLog(t, db)
	cases := []struct {
		cfg  signingkeys.Config
		want []string
	}{
		{signingkeys.Config{Algs: []signingkeys.Alg{"HS256"}}, []string{`Algs: "HS256" is not a supported algorithm`}},
		{signingkeys.Config{Algs: []signingkeys.Alg{signingkeys.RS256, signingkeys.RS256}}, []string{"RS256 is listed twice"}},
		{signingkeys.Config{PublishLead: -time.Hour, MaxTokenLifetime: -1}, []string{"PublishLead: must not be negative",
			"MaxTokenLifetime: must not be negative"}},
		{signingkeys.Config{ReloadEvery: time.Hour}, []string{"ReloadEvery (1h0m0s) must be shorter than PublishLead (1h0m0s)"}},
		{signingkeys.Config{RotationPeriod: 2 * time.Hour, PublishLead: 90 * time.Minute, ReloadEvery: 30 * time.Minute},
			[]string{"RotationPeriod (2h0m0s) must be longer than PublishLead plus ReloadEvery (2h0m0s)"}},
	}
	for _, c := range cases {
		_, err := signingkeys.New(db, kr, log, nil, c.cfg)
		if err == nil {
			t.Errorf("New(%+v) accepted it", c.cfg)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%+v) = %q, want it to say %q", c.cfg, err, w)
			}
		}
	}
	if _, err := signingkeys.New(db, kr, log, nil, signingkeys.Config{}); err != nil {
		t.Fatalf("the defaults are refused: %v", err)
	}
	if _, err := signingkeys.New(db, nil, log, nil, signingkeys.Config{}); err == nil {
		t.Fatal("New without a keyring succeeded")
	}
}
