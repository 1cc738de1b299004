package passwords_test

import (
	"testing"

	"github.com/identityd/identityd/passwords"
)

// cheap are the cheapest parameters New accepts (7 MiB, one pass): about 8 ms a hash,
// so most tests can afford many.
var cheap = passwords.Params{Memory: 7168, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func newHasher(t testing.TB, cfg passwords.Config) *passwords.Hasher {
	t.Helper()
	if cfg.Params == (passwords.Params{}) {
		cfg.Params = cheap
	}
	h, err := passwords.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}
