package sessions

import (
	"context"

	"github.com/identityd/identityd/store"
)

// Ending is sessions of one user ending together, as the hooks of OnEnd are told.
type Ending struct {
	UserID string
	// IDs are the handles of the sessions that ended.
	IDs []string
	// Reason is why: one of the Reason constants, or the users.RevokeReason of a
	// change to the account (a password reset, the user disabled or deleted).
	Reason string
	// All says every session of the user ended, as when an admin signs them out
	// everywhere or the account changes.
	All bool
}

// EndHook is told of sessions ending, in the transaction that ends them: what it does
// (tell the apps the user was signed in to, revoke what the sessions gave) commits or
// rolls back with the ending. Sessions that expire are not reported.
type EndHook func(ctx context.Context, tx *store.Tx, e Ending) error

// OnEnd adds h to the hooks told of every ending. Call it while building the server,
// before any session ends.
func (s *Service) OnEnd(h EndHook) { s.hooks = append(s.hooks, h) }

// ended tells every hook of e.
func (s *Service) ended(ctx context.Context, tx *store.Tx, e Ending) error {
	if len(e.IDs) == 0 {
		return nil
	}
	for _, h := range s.hooks {
		if err := h(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}
