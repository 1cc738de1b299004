package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newConfigCmd(e *env) *cobra.Command {
	cmd := groupCmd(&cobra.Command{Use: "config", Short: "Check the configuration"})
	var dev bool
	validate := &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration as serve would; print every problem and exit 2 if there is any",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := loadConfig(cmd, e, dev, true); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout, "configuration is valid")
			return nil
		},
	}
	validate.Flags().BoolVar(&dev, "dev", false, "check as serve --dev would")
	cmd.AddCommand(validate)
	return cmd
}
