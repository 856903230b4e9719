package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/ovsmesh/ovsmesh/config"
)

// newConfigCmd returns `ovsmesh config` and its `check` subcommand.
func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the configuration file",
	}
	cmd.AddCommand(newConfigCheckCmd())
	return cmd
}

func newConfigCheckCmd() *cobra.Command {
	var print bool
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Validate a configuration file as the controller would, without starting anything",
		Long: `check loads FILE with every validation "ovsmesh controller --config FILE"
runs before it starts, and starts nothing: no listener, no state file, no
OVSDB connection. It exits 1 with the controller's own error, which names the
field and its line, when the file would be refused. --print writes the
effective configuration, defaults filled in, as YAML.`,
		Example: "  ovsmesh config check /etc/ovsmesh/ovsmesh.yaml\n  ovsmesh config check --print ovsmesh.yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := checkConfig(controllerFlags{config: args[0]})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if !print {
				_, err := fmt.Fprintf(out, "%s: ok\n", args[0])
				return err
			}
			b, err := config.Marshal(cfg)
			if err != nil {
				return fmt.Errorf("render the effective configuration: %w", err)
			}
			_, err = out.Write(b)
			return err
		},
	}
	cmd.Flags().BoolVar(&print, "print", false, "print the effective configuration with defaults filled in")
	return cmd
}

// checkConfig runs every check `ovsmesh controller` makes of its
// configuration before it starts anything, and returns what it would run
// with. It is the one function `config check` calls: whatever the
// controller's loading learns to validate belongs here too.
func checkConfig(f controllerFlags) (config.Config, error) {
	registry, err := apps.NewRegistry(builtins...)
	if err != nil {
		return config.Config{}, err
	}
	return loadConfig(f, registry)
}
