package users_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/identityd/identityd/benchtest"
	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/store"
	"github.com/identityd/identityd/store/storetest"
	"github.com/identityd/identityd/users"
)

// eachBackend runs a benchmark on SQLite and on a PostgreSQL database of its own.
func eachBackend(b *testing.B, fn func(b *testing.B, db *store.DB)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, storetest.SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, storetest.FreshPostgres(b)) })
}

// owaspOptions hash with the parameters identityd ships with, as the benchmarks must.
func owaspOptions() options {
	o := defaultOptions()
	o.params = passwords.DefaultParams()
	return o
}

// BenchmarkAuthenticateVersusRawVerify compares the rate of whole sign-ins — lookup,
// decryption of the stored hash, argon2id, the success write and its audit event — with
// the rate of the bare argon2id verification they contain, at OWASP's parameters and on
// every core (two goroutines per core, through the same hasher and its limit). The two
// run in alternating rounds, so that load drifting on a shared machine hits both alike.
// It reports each rate and the sign-in rate as a share of the verification rate
// (rate-%; the target is at least 85).
func BenchmarkAuthenticateVersusRawVerify(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB) {
		f := newFixture(b, db, owaspOptions())
		ctx := context.Background()
		const password = "violet kettle drum 42"
		workers := runtime.GOMAXPROCS(0) * 2
		emails := make([]string, workers)
		for i := range emails {
			emails[i] = fmt.Sprintf("bench%d@example.com", i)
			f.create(b, users.NewUser{Email: emails[i], Password: password})
		}
		hash, err := f.hasher.Hash(ctx, password)
		if err != nil {
			b.Fatal(err)
		}
		verify := func(int) error {
			res, err := f.hasher.Verify(ctx, password, hash)
			if err == nil && !res.OK {
				err = fmt.Errorf("the raw verification failed")
			}
			return err
		}
		authenticate := func(w int) error {
			_, err := f.svc.Authenticate(ctx, emails[w], password)
			return err
		}
		benchtest.Versus(b, workers, 4*workers, "verify", verify, "authenticate", authenticate)
	})
}

// BenchmarkImportPrehashed imports users with Django hashes from a JSONL stream made
// on the fly, and reports users per second and the peak heap in use above where it
// started (sampled every millisecond).
func BenchmarkImportPrehashed(b *testing.B) {
	eachBackend(b, func(b *testing.B, db *store.DB) {
		f := newFixture(b, db, defaultOptions())
		lines := 100_000
		if testing.Short() {
			lines = 10_000
		}
		var total int
		var peak uint64
		var took time.Duration
		for i := 0; b.Loop(); i++ {
			start := time.Now()
			p, rep := importMeasured(b, f, &jsonlUsers{n: lines, prefix: strconv.Itoa(i)})
			took += time.Since(start)
			peak = max(peak, p)
			total += rep.Created
		}
		b.ReportMetric(float64(total)/took.Seconds(), "users/s")
		b.ReportMetric(float64(peak)/(1<<20), "heap-peak-MiB")
	})
}

// importMeasured imports r and returns the peak heap in use above the start, sampled
// every millisecond, and the report.
func importMeasured(tb testing.TB, f *fixture, r io.Reader) (uint64, users.ImportReport) {
	tb.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
					peak.Store(ms.HeapInuse - base)
				}
			}
		}
	})
	rep, err := f.svc.Import(context.Background(), r, func(x users.Rejection) { tb.Errorf("rejected %+v", x) })
	close(done)
	wg.Wait()
	if err != nil {
		tb.Fatal(err)
	}
	return peak.Load(), rep
}

// jsonlUsers generates n import lines, each a user with a Django hash, without ever
// holding more than one line.
type jsonlUsers struct {
	n, i   int
	prefix string
	buf    []byte
}

func (j *jsonlUsers) Read(p []byte) (int, error) {
	for len(j.buf) < len(p) && j.i < j.n {
		j.buf = fmt.Appendf(j.buf, `{"email":"u%s-%d@example.com","name":"User %d","password_hash":"%s"}`+"\n",
			j.prefix, j.i, j.i, djangoHash)
		j.i++
	}
	if len(j.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, j.buf)
	j.buf = j.buf[n:]
	return n, nil
}

// skipMemoryUnderRace skips a memory measurement under the race detector. make test runs
// the TestMemory tests a second time without it, so CI measures them.
func skipMemoryUnderRace(t *testing.T) {
	t.Helper()
	if raceDetector {
		t.Skip("the race detector's shadow memory would swamp the measurement; make test runs this without it")
	}
}

func TestMemoryOfAnImportDoesNotGrowWithTheFile(t *testing.T) {
	skipMemoryUnderRace(t)
	if testing.Short() {
		t.Skip("imports 50,000 users")
	}
	f := newFixture(t, storetest.SQLite(t), defaultOptions())
	small, _ := importMeasured(t, f, &jsonlUsers{n: 5_000, prefix: "s"})
	large, rep := importMeasured(t, f, &jsonlUsers{n: 45_000, prefix: "l"})
	if rep.Created != 45_000 {
		t.Fatalf("imported %+v", rep)
	}
	t.Logf("peak heap above the start: %.1f MiB for 5,000 lines, %.1f MiB for 45,000", float64(small)/(1<<20), float64(large)/(1<<20))
	// Nine times the lines may not take more than the batches' bound more memory.
	if large > small+16<<20 {
		t.Errorf("the heap grew with the file: %d bytes at 5,000 lines, %d at 45,000", small, large)
	}
}

// burstEnv makes the test binary run one burst of concurrent logins in a process of its
// own, where the memory the process took from the system measures the burst alone.
const burstEnv = "IDENTITYD_TEST_LOGIN_BURST"

// TestMemoryOfTwoHundredConcurrentLoginsStaysWithinTheHashingBudget starts 200 sign-ins at once,
// at OWASP's parameters, with room for 4 hashes in the budget, in a fresh process, and
// checks that the process's peak resident memory stays under 4 × 19 MiB + 100 MiB: the
// hasher's limit, not the number of requests, bounds it.
func TestMemoryOfTwoHundredConcurrentLoginsStaysWithinTheHashingBudget(t *testing.T) {
	skipMemoryUnderRace(t)
	if os.Getenv(burstEnv) == "1" {
		loginBurst(t)
		return
	}
	if testing.Short() {
		t.Skip("runs 200 argon2id sign-ins")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestMemoryOfTwoHundredConcurrentLoginsStaysWithinTheHashingBudget$", "-test.v")
	cmd.Env = append(os.Environ(), burstEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the burst failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func loginBurst(t *testing.T) {
	const (
		logins = 200
		hashes = 4
	)
	p := passwords.DefaultParams()
	limit := uint64(hashes)*uint64(p.Memory)<<10 + 100<<20
	hasher, err := passwords.New(passwords.Config{Params: p, MemoryBudget: int64(hashes) * int64(p.Memory) << 10})
	if err != nil {
		t.Fatal(err)
	}
	o := owaspOptions()
	o.hasher = hasher
	svc := newFixture(t, storetest.SQLite(t), o).svc
	hash, err := hasher.Hash(context.Background(), "violet kettle drum 42")
	if err != nil {
		t.Fatal(err)
	}
	for i := range logins {
		if _, err := svc.Create(context.Background(), users.NewUser{Email: fmt.Sprintf("burst%d@example.com", i), PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
	}
	if hasher.Concurrency() != hashes {
		t.Fatalf("the budget admits %d hashes, want %d", hasher.Concurrency(), hashes)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	var failed atomic.Int32
	var maxInFlight atomic.Int64
	for i := range logins {
		wg.Go(func() {
			<-start
			if _, err := svc.Authenticate(context.Background(), fmt.Sprintf("burst%d@example.com", i), "violet kettle drum 42"); err != nil {
				failed.Add(1)
			}
			maxInFlight.Store(max(maxInFlight.Load(), int64(hasher.Stats().InFlight)))
		})
	}
	began := time.Now()
	close(start)
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d sign-ins failed", failed.Load())
	}
	peak := peakRSS(t)
	t.Logf("%d concurrent sign-ins in %s; peak resident memory of the whole process %.1f MiB (limit %.1f MiB)",
		logins, time.Since(began).Round(time.Millisecond), float64(peak)/(1<<20), float64(limit)/(1<<20))
	if peak > limit {
		t.Errorf("the process's peak resident memory was %d MiB, over the limit of %d MiB", peak>>20, limit>>20)
	}
	if maxInFlight.Load() > hashes {
		t.Errorf("%d hashes ran at once, over the budget's %d", maxInFlight.Load(), hashes)
	}
}

// peakRSS is the process's peak resident memory (VmHWM), from Linux's /proc: the whole
// process, runtime, database and dictionaries included, at its highest.
func peakRSS(t *testing.T) uint64 {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc here to read peak memory from: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatal("/proc/self/status has no VmHWM")
	return 0
}
