//go:build !unix

package benchtest

import "time"

// processCPU is not measured here: Versus then reports rates only.
func processCPU() (time.Duration, bool) { return 0, false }
