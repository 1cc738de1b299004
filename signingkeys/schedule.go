package signingkeys

import (
	"cmp"
	"slices"
	"time"
)

// place returns keys as they stand at now, from their stored times alone: each with its
// State, and a retired key with the RetiredAt and UnpublishAt it has or will be given
// once Maintain marks it. It also returns until, the next moment at which the answer
// changes (a key activates or is unpublished), or the zero time if it never does. The
// result is sorted by algorithm, then activation; keys is not modified.
//
// Per algorithm, among the keys not marked retired, the one that activated last is
// current, the ones activating later are next, and the ones it replaced are retired at
// the activation of the key after them. A key marked retired never signs again. When no
// key has activated yet — a replica whose clock is a little behind the one that
// rotated immediately — the earliest key signs rather than none.
func place(keys []Key, now time.Time, maxTokenLifetime time.Duration) (placed []Key, until time.Time) {
	placed = slices.Clone(keys)
	slices.SortFunc(placed, func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Alg, b.Alg), a.ActivatesAt.Compare(b.ActivatesAt),
			a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	soonest := func(t time.Time) {
		if t.After(now) && (until.IsZero() || t.Before(until)) {
			until = t
		}
	}
	for start := 0; start < len(placed); {
		end := start + 1
		for end < len(placed) && placed[end].Alg == placed[start].Alg {
			end++
		}
		group := placed[start:end]
		cur := currentIndex(group, now)
		for i := range group {
			k := &group[i]
			switch {
			case k.RetiredAt != nil:
				k.State = StateRetired
				if k.UnpublishAt == nil { // the schema forbids it; never publish such a key for ever
					u := k.RetiredAt.Add(maxTokenLifetime)
					k.UnpublishAt = &u
				}
			case i == cur:
				k.State = StateCurrent
			case i > cur:
				k.State = StateNext
				soonest(k.ActivatesAt)
			default:
				// Replaced by the key after it, which activated no later than the current one.
				retired := group[i+1].ActivatesAt
				unpublish := retired.Add(maxTokenLifetime)
				k.State, k.RetiredAt, k.UnpublishAt = StateRetired, &retired, &unpublish
			}
			if k.State == StateRetired {
				soonest(*k.UnpublishAt)
			}
		}
		start = end
	}
	return placed, until
}

// currentIndex is the index in group (one algorithm's keys, in activation order) of the
// key that signs at now, or -1 if every key is marked retired.
func currentIndex(group []Key, now time.Time) int {
	cur := -1
	for i, k := range group {
		if k.RetiredAt != nil {
			continue
		}
		if k.ActivatesAt.After(now) {
			if cur < 0 {
				return i // nothing has activated: the earliest key signs rather than none
			}
			break
		}
		cur = i
	}
	return cur
}

// published reports whether k, as placed at now, is in the JWKS.
func published(k Key, now time.Time) bool {
	return k.State != StateRetired || now.Before(*k.UnpublishAt)
}
