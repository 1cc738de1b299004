package store_test

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/identityd/identityd/store"
)

func TestACursorWhoseIDNoRowCouldHaveIsMalformed(t *testing.T) {
	for _, raw := range []string{"1700000000000000:", "1700000000000000:a\x00b", "1700000000000000:\xff\xfe",
		"1700000000000000:a b", "x:abc", "abc"} {
		cursor := base64.RawURLEncoding.EncodeToString([]byte(raw))
		if _, _, err := store.PageNewestFirst("SELECT id FROM t", nil, false, 10, cursor); !errors.Is(err, store.ErrBadCursor) {
			t.Errorf("cursor %q: %v, want ErrBadCursor", raw, err)
		}
	}
	next := store.NextCursor(2, 1, time.Now(), store.NewID())
	if _, _, err := store.PageNewestFirst("SELECT id FROM t", nil, false, 10, next); err != nil {
		t.Errorf("a cursor NextCursor made: %v", err)
	}
}
