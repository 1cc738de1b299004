// Package benchtest measures an operation against the raw primitive it is built on in
// one run, as the issues' targets ask: the two alternate in rounds on the same workers,
// so that load drifting on a shared machine hits both alike, and the figure that counts
// is the ratio of their rates. Where the process's CPU time can be read, it also says
// what each operation costs in CPU and how busy the machine was while op ran, which
// tells a rate bound by work from one bound by waiting.
package benchtest

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Versus runs raw and op alternately, per operations a round spread over workers
// goroutines (each call gets its worker's number), until b.N operations of both kinds
// together are done. It reports both rates (rawName/s, opName/s) and op's as a share of
// raw's (rate-%); with CPU times, the CPU microseconds each costs (rawName-cpu-us,
// opName-cpu-us; background work the operation causes, such as sealing its audit event,
// is counted in the round it runs in) and the share of GOMAXPROCS busy in op's rounds
// (opName-busy-%).
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
	var rawTime, opTime, rawCPU, opCPU time.Duration
	cpuKnown := true
	lap := func(into *time.Duration, since time.Duration) time.Duration {
		now, ok := processCPU()
		cpuKnown = cpuKnown && ok
		*into += now - since
		return now
	}
	ops := 0 // of each kind
	b.ResetTimer()
	for done := 0; done < b.N; done += 2 * per {
		start, ok := processCPU()
		cpuKnown = cpuKnown && ok
		rawTime += round(raw)
		start = lap(&rawCPU, start)
		opTime += round(op)
		lap(&opCPU, start)
		ops += per
	}
	rawRate, opRate := float64(ops)/rawTime.Seconds(), float64(ops)/opTime.Seconds()
	b.ReportMetric(rawRate, rawName+"/s")
	b.ReportMetric(opRate, opName+"/s")
	b.ReportMetric(100*opRate/rawRate, "rate-%")
	if cpuKnown {
		perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(ops) }
		b.ReportMetric(perOp(rawCPU), rawName+"-cpu-us")
		b.ReportMetric(perOp(opCPU), opName+"-cpu-us")
		b.ReportMetric(100*opCPU.Seconds()/(opTime.Seconds()*float64(runtime.GOMAXPROCS(0))), opName+"-busy-%")
	}
}
