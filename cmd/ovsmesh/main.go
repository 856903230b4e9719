package main

import (
	"fmt"
	"os"

	"github.com/ovsmesh/ovsmesh/apps"
	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "ovsmesh",
		Short:         "Central OpenFlow 1.3 controller for a mesh of Open vSwitch hosts",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	registry, err := apps.NewRegistry(builtins...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ovsmesh:", err)
		os.Exit(1)
	}
	root.AddCommand(newControllerCmd(), newLabCmd())
	root.AddCommand(newConfigCmd(), newManCmd())
	root.AddCommand(newPKICmd())
	root.AddCommand(newGetCmds()...)
	root.AddCommand(registry.Commands()...)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ovsmesh:", err)
		os.Exit(1)
	}
}
