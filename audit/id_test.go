package audit

import (
	"slices"
	"sync"
	"testing"
	"time"
)

func TestIDsAreValidUUIDv7sThatSortInRecordingOrder(t *testing.T) {
	now := time.Now()
	var (
		mu  sync.Mutex
		ids []string
		wg  sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []string
			for range 1000 {
				mine = append(mine, newID(now)) // the same instant, many times
			}
			if !slices.IsSorted(mine) {
				t.Error("one goroutine's ids are not increasing")
			}
			mu.Lock()
			ids = append(ids, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, id := range ids {
		if !validID(id) || id[14] != '7' || !slices.Contains([]byte("89ab"), id[19]) || seen[id] {
			t.Fatalf("id %q: not a fresh UUIDv7", id)
		}
		seen[id] = true
	}
	later := newID(now.Add(time.Millisecond))
	for _, id := range ids {
		if id >= later {
			t.Fatalf("%s does not sort before an id a millisecond later (%s)", id, later)
		}
	}
	if lo, hi := idBound(now.Add(time.Hour), false), idBound(now.Add(time.Hour), true); !(later < lo && lo < hi) {
		t.Fatalf("bounds %s..%s do not bracket the hour after %s", lo, hi, later)
	}
}
