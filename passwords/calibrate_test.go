package passwords_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/identityd/identityd/passwords"
)

func TestCalibrateRaisesPassesToFitTheTarget(t *testing.T) {
	base := cheap
	base.Time = 3
	target := 150 * time.Millisecond
	p, d, err := passwords.Calibrate(context.Background(), target, base)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("Calibrate returned parameters that do not validate: %v", err)
	}
	if p.Memory != base.Memory || p.Threads != base.Threads || p.SaltLen != base.SaltLen || p.KeyLen != base.KeyLen {
		t.Fatalf("Calibrate = %+v; want base's memory, threads and lengths kept (%+v)", p, base)
	}
	// One pass of 7 MiB takes about 8 ms here (20 ms under the race detector), so
	// several passes fit in 150 ms even on a busy machine.
	if p.Time < 2 || d <= 0 || d > target {
		t.Fatalf("Calibrate = t=%d, %v; want more than one pass and a measured duration within %v", p.Time, d, target)
	}
}

func TestCalibrateLowersMemoryButNotBelowTheFloor(t *testing.T) {
	base := passwords.DefaultParams()
	p, d, err := passwords.Calibrate(context.Background(), time.Microsecond, base)
	if err != nil {
		t.Fatal(err)
	}
	want := base
	want.Memory, want.Time = 7168, 1
	if p != want || d <= time.Microsecond {
		t.Fatalf("Calibrate(1µs) = %+v, %v; want %+v and the (longer) measured time", p, d, want)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCalibrateRefusesBadInput(t *testing.T) {
	if _, _, err := passwords.Calibrate(context.Background(), 0, cheap); err == nil {
		t.Error("Calibrate(target 0) succeeded")
	}
	if _, _, err := passwords.Calibrate(context.Background(), time.Second, passwords.Params{Memory: 19}); err == nil {
		t.Error("Calibrate(invalid base) succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := passwords.Calibrate(ctx, time.Second, cheap); !errors.Is(err, context.Canceled) {
		t.Errorf("Calibrate(cancelled) = %v, want context.Canceled", err)
	}
}
