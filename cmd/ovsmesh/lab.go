package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/lab"
)

const defaultLabDir = "/tmp/ovsmesh-lab"

// newLabCmd returns `ovsmesh lab` with its up, attach and down
// subcommands, which build and tear down a multi-host OVS lab of network
// namespaces on this machine (see package lab).
func newLabCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "Build a multi-host Open vSwitch lab in network namespaces",
		Long: `lab builds, on this machine, N "hosts" (network namespaces, each with its own
ovsdb-server and ovs-vswitchd on the userspace datapath) joined by an underlay,
plus M guest namespaces per host, and writes a ready ovsmesh.yaml. It needs
root, iproute2, ethtool and Open vSwitch.`,
	}
	cmd.AddCommand(newLabUpCmd(), newLabAttachCmd(), newLabDownCmd())
	return cmd
}

func newLabUpCmd() *cobra.Command {
	var (
		o       lab.Options
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Bring a lab up and write DIR/ovsmesh.yaml",
		Args:  cobra.NoArgs,
		// Errors here are about the machine, not the command line.
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Ctrl-C cancels the bring-up, which then tears down what it made.
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			ctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			o.Logger = slog.Default()
			start := time.Now()
			l, err := lab.Up(ctx, o)
			if err != nil {
				return err
			}
			printLab(cmd.OutOrStdout(), l, time.Since(start))
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Hosts, "hosts", 3, "number of hosts (1-250)")
	f.IntVar(&o.Guests, "guests", 2, "guests per host (0-32)")
	f.StringVar(&o.Tunnel, "tunnel", "vxlan", "tunnel type written into ovsmesh.yaml: vxlan or gre")
	f.StringVar(&o.Dir, "dir", defaultLabDir, "lab directory: state file, ovsmesh.yaml, per-host db, sockets and logs")
	f.BoolVar(&o.LXC, "lxc", false, "put each host's guests on a Linux bridge lxcbr0 patched into the mesh bridge by one veth pair")
	f.BoolVar(&o.TLS, "tls", false, "TLS on OpenFlow and OVSDB: a CA and certificates in DIR/pki and the host dirs, ovsdb-server on pssl:, and ssl: listener, target and OVSDB addresses in ovsmesh.yaml")
	f.StringVar(&o.Prefix, "name", "om", "prefix of namespace and link names (1-10 lower-case letters and digits)")
	f.IntVar(&o.Slot, "slot", 0, "management subnet: 0 is 198.19.0.0/16, 1-250 is 198.19.SLOT.0/24 (for labs side by side)")
	f.BoolVar(&o.PreBridge, "pre-bridge", false, "pre-create the mesh bridge br-int on every host, for ovsmesh to adopt")
	f.BoolVar(&o.Outside, "nat", false, "add an outside namespace NAME-out linked to the last host's ext0, default routes via the NAT router IP in the guests, and a nat section in ovsmesh.yaml (needs the NAT app)")
	f.DurationVar(&timeout, "timeout", 2*time.Minute, "give up after this long")
	return cmd
}

func newLabAttachCmd() *cobra.Command {
	var (
		dir     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "attach",
		Short: "Wait for br-int on every host (made by ovsmesh) and plug the guests into it",
		Args:  cobra.NoArgs,
		// Errors here are about the machine, not the command line.
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			l, err := lab.Open(dir, slog.Default())
			if err != nil {
				return err
			}
			if err := l.AttachGuests(ctx); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "attached %d guests\n", len(l.Guests()))
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultLabDir, "lab directory")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "how long to wait for br-int")
	return cmd
}

func newLabDownCmd() *cobra.Command {
	var (
		dir     string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Tear down the lab recorded in DIR (idempotent; works after a crashed up)",
		Args:  cobra.NoArgs,
		// Errors here are about the machine, not the command line.
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return lab.Down(ctx, dir, slog.Default())
		},
	}
	cmd.Flags().StringVar(&dir, "dir", defaultLabDir, "lab directory")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Minute, "give up after this long")
	return cmd
}

// printLab writes a summary of l and the next steps to w.
func printLab(w io.Writer, l *lab.Lab, took time.Duration) {
	o := l.Options()
	fmt.Fprintf(w, "lab up in %v: %d hosts, %d guests, dir %s\n", took.Round(time.Millisecond), len(l.Hosts()), len(l.Guests()), l.Dir())
	fmt.Fprintf(w, "controller address %s (root namespace)\n", lab.ControllerIP(o.Slot))
	if o.TLS {
		fmt.Fprintf(w, "tls: CA and controller certificate in %s, each host's certificate in its directory\n", filepath.Dir(l.PKIFiles().CA))
	}
	for _, h := range l.Hosts() {
		fmt.Fprintf(w, "  %s  netns %-10s ovsdb %s  underlay %s\n", h.Name, h.NS, h.OVSDB(), h.UnderlayIP)
	}
	for _, g := range l.Guests() {
		fmt.Fprintf(w, "  %s  netns %-10s on %s  %s  %s\n", g.Name, g.NS, g.Host, g.MAC, g.IP)
	}
	if ns := l.OutsideNS(); ns != "" {
		fmt.Fprintf(w, "  outside  netns %s: %s on %s (next hop), %s on lo (far server); linked to %s on %s\n",
			ns, lab.NATNextHop, lab.OutsideIf, lab.NATFarIP, lab.NATExternalPort, l.Gateway())
		fmt.Fprintf(w, "  guests route via %s; NAT gateway %s with external IP %s\n", lab.NATRouterIP, l.Gateway(), lab.NATExternalIP)
	}
	fmt.Fprintf(w, "next: ovsmesh controller --config %s, then ovsmesh lab attach --dir %s\n", l.ConfigPath(), l.Dir())
	if gs := l.Guests(); len(gs) > 1 {
		fmt.Fprintf(w, "      ip netns exec %s ping %s\n", gs[0].NS, gs[len(gs)-1].IP)
	}
	fmt.Fprintf(w, "done: ovsmesh lab down --dir %s\n", l.Dir())
}
