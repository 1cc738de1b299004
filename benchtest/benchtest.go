// Package benchtest measures an operation against the raw primitive it is built on in
// one run, as the issues' targets ask: the two alternate in rounds on the same workers,
// so that load drifting on a shared machine hits both alike, and the figure that counts
// is the ratio of their rates.
package benchtest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Versus runs raw and op alternately, per operations a round spread over workers
// goroutines (each call gets its worker's number), until b.N operations of both kinds
// together are done. It reports both rates (rawName/s, opName/s) and op's as a share of raw's (rate-%).
func Versus(b *testing.B, workers, per int, rawName string, raw func(worker int) error, opName string, op func(worker int) error) {
	round := func(fn func(worker int) error) time.Duration {
		var left atomic.Int64
		left.Store(int64(per))
		var wg sync.WaitGroup
		start := time.Now()
		for w := range workers {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					if err := fn(w); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		return time.Since(start)
	}
	var rawTime, opTime time.Duration
	ops := 0 // of each kind
	b.ResetTimer()
	for done := 0; done < b.N; done += 2 * per {
		rawTime += round(raw)
		opTime += round(op)
		ops += per
	}
	rawRate, opRate := float64(ops)/rawTime.Seconds(), float64(ops)/opTime.Seconds()
	b.ReportMetric(rawRate, rawName+"/s")
	b.ReportMetric(opRate, opName+"/s")
	b.ReportMetric(100*opRate/rawRate, "rate-%")
}
