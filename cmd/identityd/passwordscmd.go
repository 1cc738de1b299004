package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/identityd/identityd/passwords"
)

func newPasswordsCmd(e *env) *cobra.Command {
	cmd := groupCmd(&cobra.Command{Use: "passwords", Short: "Tools for password hashing"})
	var (
		target      time.Duration
		memoryMiB   int
		parallelism int
	)
	calibrate := &cobra.Command{
		Use:   "calibrate",
		Short: "Suggest argon2id settings that take about --target per hash on this machine",
		Long: `Measure argon2id on this machine and suggest the settings that make one password hash take
about --target: the memory and lanes stay as given, the iterations rise to fill the time
(and the memory falls when even one iteration is too slow). Run it on the machine that
will serve, while it is otherwise idle.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if target < 10*time.Millisecond || target > 10*time.Second {
				return usageError{errors.New("--target must be between 10ms and 10s")}
			}
			if memoryMiB < 7 || memoryMiB > 4096 {
				return usageError{errors.New("--memory-mib must be between 7 and 4096")}
			}
			if parallelism < 1 || parallelism > 64 {
				return usageError{errors.New("--parallelism must be between 1 and 64")}
			}
			base := passwords.DefaultParams()
			base.Memory, base.Threads = uint32(memoryMiB)<<10, uint8(parallelism)
			p, took, err := passwords.Calibrate(cmd.Context(), target, base)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "argon2id with %d KiB, %d iterations and %d lane(s) took %s per hash here.\n",
				p.Memory, p.Time, p.Threads, took.Round(time.Millisecond))
			fmt.Fprintf(e.stdout, "IDENTITYD_PASSWORD_HASH_MEMORY=%dKiB\nIDENTITYD_PASSWORD_HASH_ITERATIONS=%d\nIDENTITYD_PASSWORD_HASH_PARALLELISM=%d\n",
				p.Memory, p.Time, p.Threads)
			return nil
		},
	}
	f := calibrate.Flags()
	f.DurationVar(&target, "target", 250*time.Millisecond, "time one hash should take")
	f.IntVar(&memoryMiB, "memory-mib", 19, "memory per hash, in MiB")
	f.IntVar(&parallelism, "parallelism", 1, "lanes per hash")
	cmd.AddCommand(calibrate)
	return cmd
}
