package main

import (
	"fmt"
	"os"

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
	root.AddCommand(newControllerCmd(), newLabCmd())
	root.AddCommand(newConfigCmd(), newManCmd())
	root.AddCommand(newGetCmds()...)
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "ovsmesh:", err)
		os.Exit(1)
	}
}
