// Command withpostgres runs a command — the test suite — with IDENTITYD_TEST_POSTGRES_URL
// pointing at a throwaway PostgreSQL cluster on loopback, so that every test package
// shares one server instead of each starting its own. When the variable is already set,
// it runs the command as it is.
//
//	go run ./store/storetest/withpostgres -- go test -race ./...
//
// Without PostgreSQL binaries on the machine it runs the command anyway (the PostgreSQL
// tests then skip), unless IDENTITYD_TEST_REQUIRE_POSTGRES=1, when it fails.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/identityd/identityd/store/storetest"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: withpostgres [--] COMMAND [ARG...]")
		return 2
	}
	env := os.Environ()
	if os.Getenv(storetest.EnvPostgresURL) == "" {
		c, err := storetest.StartCluster(context.Background())
		switch {
		case err == nil:
			defer c.Stop()
			env = append(env, storetest.EnvPostgresURL+"="+c.URL)
			fmt.Fprintf(os.Stderr, "withpostgres: throwaway PostgreSQL at %s\n", c.URL)
		case errors.Is(err, storetest.ErrNoPostgres) && os.Getenv(storetest.EnvRequirePostgres) != "1":
			fmt.Fprintf(os.Stderr, "withpostgres: %v; PostgreSQL tests will be skipped\n", err)
		default:
			fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
			return 1
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
		return 1
	}
	// Pass interrupts on, and keep running until the command ends, so the cluster is
	// stopped after it rather than under it.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	err := cmd.Wait()
	signal.Stop(sigs)
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "withpostgres: %v\n", err)
		return 1
	}
	return 0
}
