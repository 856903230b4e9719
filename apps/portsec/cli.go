package portsec

import (
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ovsmesh/ovsmesh/cli"
)

// commands returns `ovsmesh portsec` with its add and del subcommands.
func commands() []*cobra.Command {
	ps := cli.Get{Use: "portsec", Short: "Print the declared ports (port security) with their drop counters by reason",
		Path: "/api/v1/portsec", Print: printStatus}.Command()
	var api, tokenFile string
	send := func(cmd *cobra.Command, method string, q url.Values, body any) error {
		out, err := cli.Send(api, method, "/api/v1/portsec/ports", q, body, tokenFile)
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(out)
		return err
	}
	add := &cobra.Command{Use: "add HOST PORT MAC [IP...]",
		Short: "Declare what sits behind HOST's interface PORT: only MAC, and with IPs only those IPv4 addresses, may send from it",
		Args:  cobra.MinimumNArgs(3), RunE: func(cmd *cobra.Command, args []string) error {
			p := PortDecl{Host: args[0], Port: args[1], MAC: args[2]}
			for _, s := range args[3:] {
				ip, err := netip.ParseAddr(s)
				if err != nil {
					return fmt.Errorf("IP %q is not an IPv4 address", s)
				}
				p.IPs = append(p.IPs, ip)
			}
			return send(cmd, "POST", nil, p)
		}}
	del := &cobra.Command{Use: "del HOST PORT", Short: "Delete the declaration of HOST's PORT made through the API",
		Args: cobra.ExactArgs(2), RunE: func(cmd *cobra.Command, args []string) error {
			return send(cmd, "DELETE", url.Values{"host": {args[0]}, "port": {args[1]}}, nil)
		}}
	for _, c := range []*cobra.Command{add, del} {
		c.Flags().StringVar(&api, "api", cli.DefaultAPI, "controller API address host:port")
		c.Flags().StringVar(&tokenFile, "token-file", "", "file holding the API bearer token (api.token_file; not needed over loopback)")
		ps.AddCommand(c)
	}
	return []*cobra.Command{ps}
}

// printStatus renders GET /api/v1/portsec as tables.
func printStatus(w io.Writer, body []byte, _ string) error {
	s, err := cli.Decode[Status](body, "port security status")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "from_ovsdb %v; packets: allowed %d, dhcp %d; dropped: mac %d, arp %d, ip %d, other %d, claim %d\n\n",
		s.FromOVSDB, s.Packets["allowed"], s.Packets["dhcp"], s.Packets["mac"], s.Packets["arp"], s.Packets["ip"],
		s.Packets["other"], s.Packets["claim"])
	var rows [][]string
	for _, p := range s.Ports {
		ips := make([]string, len(p.IPs))
		for i, ip := range p.IPs {
			ips[i] = ip.String()
		}
		src := p.Source
		if len(p.Shadowed) > 0 {
			src += " (over " + strings.Join(p.Shadowed, ",") + ")"
		}
		ofport := "-"
		if p.OFPort != 0 {
			ofport = fmt.Sprint(p.OFPort)
		}
		rows = append(rows, []string{p.Host, p.Port, ofport, p.MAC, cli.OrDash(strings.Join(ips, ",")), p.Mode, src,
			fmt.Sprint(p.Packets["mac"]), fmt.Sprint(p.Packets["arp"]), fmt.Sprint(p.Packets["ip"]),
			fmt.Sprint(p.Packets["other"]), fmt.Sprint(p.Packets["claim"]), cli.OrDash(problemsText(p.Problems))})
	}
	if err := cli.Table(w, "HOST\tPORT\tOFPORT\tMAC\tIPS\tMODE\tSOURCE\tDROP:MAC\tARP\tIP\tOTHER\tCLAIM\tPROBLEMS", rows); err != nil {
		return err
	}
	if len(s.Ignored) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	rows = nil
	for _, i := range s.Ignored {
		rows = append(rows, []string{i.Host, i.Port, problemsText(i.Problems)})
	}
	return cli.Table(w, "IGNORED\tPORT\tWHY", rows)
}
