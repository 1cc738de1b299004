package sessions

import (
	"context"
	"fmt"

	"github.com/identityd/identityd/store"
)

// List returns userID's live sessions, newest first: all of them, since a user has at
// most MaxPerUser (the limit bounds the answer too, should concurrent sign-ins overshoot
// it for a moment).
func (s *Service) List(ctx context.Context, userID string) ([]Session, error) {
	now := s.clock()
	idle, rememberIdle := s.idleCutoffs(now)
	rows, err := s.db.Query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 AND `+liveClause(2)+`
		ORDER BY created_at DESC, id DESC LIMIT $5`, userID, now, idle, rememberIdle, MaxPerUser)
	if err != nil {
		return nil, fmt.Errorf("sessions: list: %w", err)
	}
	list, err := store.CollectRows(rows, func(r *store.Rows) (Session, error) { return s.scan(r) })
	if err != nil {
		return nil, fmt.Errorf("sessions: list: %w", err)
	}
	return list, nil
}
