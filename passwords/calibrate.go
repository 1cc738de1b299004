package passwords

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/argon2"
)

// Calibrate suggests argon2id parameters whose hash takes about target on this
// machine, and returns them with the measured duration of one hash. It keeps base's
// Memory, Threads and lengths and sets Time to the most passes that fit in target, up
// to DefaultLimits' memory × passes bound. If even one pass is slower than target, it
// halves Memory until one pass fits, but never below 7 MiB, the smallest memory in
// OWASP's table of argon2id settings: below that, argon2id's memory-hardness stops
// buying much against GPUs, and the answer is a faster machine or a longer target. The
// duration returned may then exceed target.
//
// Each measurement is the median of three hashes, so a noisy machine moves the result
// less; the whole calibration takes a few times target.
func Calibrate(ctx context.Context, target time.Duration, base Params) (Params, time.Duration, error) {
	if target <= 0 {
		return Params{}, 0, errors.New("passwords: calibrate: the target duration must be positive")
	}
	if err := base.Validate(); err != nil {
		return Params{}, 0, fmt.Errorf("passwords: calibrate: %w", err)
	}
	p := base
	p.Time = 1
	d, err := measure(ctx, p)
	for err == nil && d > target && p.Memory > minMemory {
		p.Memory = max(p.Memory/2, minMemory)
		d, err = measure(ctx, p)
	}
	if err != nil {
		return Params{}, 0, err
	}
	if d >= target {
		return p, d, nil
	}
	// Time grows about linearly with passes: estimate from one pass, then step down
	// from each measurement that overshoots.
	maxTime := uint32(min(DefaultLimits().Argon2MaxWork/uint64(p.Memory), 1<<32-1))
	p.Time = max(min(uint32(target/d), maxTime), 1)
	for {
		d, err = measure(ctx, p)
		if err != nil {
			return Params{}, 0, err
		}
		if d <= target || p.Time == 1 {
			return p, d, nil
		}
		p.Time = max(min(p.Time-1, uint32(float64(p.Time)*float64(target)/float64(d))), 1)
	}
}

// measure returns the median duration of three argon2id hashes with p.
func measure(ctx context.Context, p Params) (time.Duration, error) {
	salt := randomBytes(p.SaltLen)
	var runs [3]time.Duration
	for i := range runs {
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("passwords: calibrate: %w", err)
		}
		start := time.Now()
		argon2.IDKey([]byte("calibration"), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
		runs[i] = time.Since(start)
	}
	slices.Sort(runs[:])
	return runs[1], nil
}
