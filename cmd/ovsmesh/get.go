package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/api"
	"github.com/ovsmesh/ovsmesh/cli"
)

// newGetCmds returns the core read-only commands, hosts and flows; the
// apps add their own (macs, arp...).
func newGetCmds() []*cobra.Command {
	return []*cobra.Command{
		cli.Get{Use: "hosts", Short: "Print the configured hosts: DPID, OVSDB and OpenFlow state, tunnel ports",
			Path: "/api/v1/hosts", Print: printHosts}.Command(),
		cli.Get{Use: "flows", Short: "Print a host's flows, fetched live from its switch, with decoded cookies",
			Path: "/api/v1/flows", Host: cli.RequireHost, Print: printFlows}.Command(),
	}
}

func printHosts(w io.Writer, body []byte, _ string) error {
	hosts, err := cli.Decode[[]api.Host](body, "hosts")
	if err != nil {
		return err
	}
	var rows [][]string
	for _, h := range hosts {
		ovsdb, of := "down", "down"
		if h.OVSDBConnected {
			ovsdb = "up"
		}
		if h.OpenFlowUp {
			of = "up"
		}
		peers := make([]string, 0, len(h.Tunnels))
		for p := range h.Tunnels {
			peers = append(peers, p)
		}
		sort.Strings(peers)
		var tun []string
		for _, p := range peers {
			tun = append(tun, fmt.Sprintf("%s:%d", p, h.Tunnels[p]))
		}
		rows = append(rows, []string{h.Name, h.DPID, h.TunnelIP, ovsdb, of, cli.OrDash(strings.Join(tun, ",")), cli.OrDash(h.Meters), cli.OrDash(h.OVSDBError)})
	}
	return cli.Table(w, "NAME\tDPID\tTUNNEL-IP\tOVSDB\tOPENFLOW\tTUNNELS\tMETERS\tERROR", rows)
}

func printFlows(w io.Writer, body []byte, _ string) error {
	fl, err := cli.Decode[api.Flows](body, "flows")
	if err != nil {
		return err
	}
	var rows [][]string
	for _, f := range fl.Flows {
		app, gen := cli.OrDash(f.App), "-"
		if f.App != "" {
			gen = fmt.Sprint(f.Generation)
			if f.Stale {
				gen += " (stale)"
			}
		}
		rows = append(rows, []string{fmt.Sprint(f.Table), fmt.Sprint(f.Priority), app, gen, fmt.Sprint(f.Packets),
			cli.OrDash(f.Match), f.Actions})
	}
	fmt.Fprintf(w, "host %s, dpid %s, running generation %d, %d flows\n", cli.OrDash(fl.Host), fl.DPID, fl.Generation, len(fl.Flows))
	return cli.Table(w, "TABLE\tPRIORITY\tAPP\tGENERATION\tPACKETS\tMATCH\tACTIONS", rows)
}
